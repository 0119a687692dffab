package io.github.redismasterdiscovery;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisPubSub;
import redis.clients.jedis.exceptions.JedisAccessControlException;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * Every configured Sentinel at once: one thread per Sentinel subscribed to {@code +switch-master},
 * kept honest by a PING heartbeat (a subscription whose pong is late by three heartbeats times out
 * and reconnects, so a silently dead link is noticed), and {@code SENTINEL GET-MASTER-ADDR-BY-NAME}
 * after every (re)subscribe, after every {@code +switch-master} and periodically.
 *
 * <p>A Sentinel's opinion counts while its subscription is live. The majority is over the
 * configured Sentinels, not the reachable ones: 1 of 3 is no majority.
 */
final class SentinelSource implements Source {

  private static final Logger log = LoggerFactory.getLogger(SentinelSource.class);
  private static final String CHANNEL = "+switch-master";
  private static final long MAX_BACKOFF_MILLIS = 5_000;

  private final String masterName;
  private final List<Link> links = new ArrayList<>();
  private final Runnable onChange;
  private final ExecutorService io;
  private final ScheduledExecutorService scheduler;
  private final Duration heartbeat;
  private final Warnings warnings;
  private volatile boolean closed;
  private ScheduledFuture<?> heartbeats;

  SentinelSource(List<HostAndPort> sentinels, String masterName, JedisClientConfig config, Duration timeout, Duration heartbeat,
      Runnable onChange, ExecutorService io, ScheduledExecutorService scheduler, Warnings warnings) {
    this.masterName = masterName;
    this.onChange = onChange;
    this.io = io;
    this.scheduler = scheduler;
    this.heartbeat = heartbeat;
    this.warnings = warnings;
    JedisClientConfig queryConfig = RedisConfigs.withTimeouts(config, timeout);
    JedisClientConfig subscriberConfig = RedisConfigs.forSubscriber(config, timeout, heartbeat.multipliedBy(3));
    for (HostAndPort address : sentinels) {
      links.add(new Link(address, queryConfig, subscriberConfig));
    }
  }

  @Override
  public SourceKind kind() {
    return SourceKind.SENTINEL;
  }

  @Override
  public void start() {
    for (Link link : links) {
      Thread t = new Thread(link, "rmd-sentinel-" + link.address);
      t.setDaemon(true);
      link.thread = t;
      t.start();
    }
    long millis = heartbeat.toMillis();
    heartbeats = scheduler.scheduleWithFixedDelay(() -> links.forEach(Link::ping), millis, millis, TimeUnit.MILLISECONDS);
  }

  /** Asks every subscribed Sentinel again, in parallel, off the caller's thread. */
  void refresh() {
    for (Link link : links) {
      if (link.subscribed) {
        io.execute(link::queryQuietly);
      }
    }
  }

  @Override
  public List<HostAndPort> candidates() {
    Map<HostAndPort, Integer> votes = votes();
    return votes.entrySet().stream()
        .sorted(Map.Entry.<HostAndPort, Integer>comparingByValue(Comparator.reverseOrder()))
        .map(Map.Entry::getKey)
        .collect(Collectors.toList());
  }

  /** The master named by more than half of the configured Sentinels, or null. */
  HostAndPort majority() {
    for (Map.Entry<HostAndPort, Integer> e : votes().entrySet()) {
      if (e.getValue() > links.size() / 2) {
        return e.getKey();
      }
    }
    return null;
  }

  private Map<HostAndPort, Integer> votes() {
    Map<HostAndPort, Integer> votes = new HashMap<>();
    for (Link link : links) {
      HostAndPort opinion = link.opinion;
      if (link.subscribed && opinion != null) {
        votes.merge(opinion, 1, Integer::sum);
      }
    }
    return votes;
  }

  @Override
  public Health health() {
    List<String> down = new ArrayList<>();
    for (Link link : links) {
      if (!link.subscribed) {
        down.add(link.address + ": " + (link.error == null ? "connecting" : link.error));
      }
    }
    if (down.isEmpty()) {
      return Health.up();
    }
    // Links still connecting for the first time are not failures yet.
    boolean starting = links.stream().noneMatch(l -> l.error != null);
    SourceState.Status status = starting ? SourceState.Status.STARTING
        : down.size() == links.size() ? SourceState.Status.DOWN : SourceState.Status.DEGRADED;
    return new Health(status, String.join("; ", down));
  }

  @Override
  public void close() {
    closed = true;
    if (heartbeats != null) {
      heartbeats.cancel(false);
    }
    for (Link link : links) {
      link.close();
    }
    for (Link link : links) {
      if (link.thread != null) {
        try {
          link.thread.join(2_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  /** One Sentinel: a subscriber thread, a query connection, and its latest opinion. */
  private final class Link implements Runnable {
    final HostAndPort address;
    private final JedisClientConfig queryConfig;
    private final JedisClientConfig subscriberConfig;
    volatile HostAndPort opinion;
    volatile boolean subscribed;
    volatile String error;
    volatile Thread thread;
    private volatile Jedis subscriber;
    private volatile PubSub pubSub;
    private Jedis query; // guarded by this

    Link(HostAndPort address, JedisClientConfig queryConfig, JedisClientConfig subscriberConfig) {
      this.address = address;
      this.queryConfig = queryConfig;
      this.subscriberConfig = subscriberConfig;
    }

    @Override
    public void run() {
      long backoff = 100;
      while (!closed) {
        try {
          query();
          Jedis sub = new Jedis(address, subscriberConfig);
          subscriber = sub;
          PubSub ps = new PubSub(this);
          pubSub = ps;
          try {
            sub.subscribe(ps, CHANNEL); // returns only when unsubscribed (close) or throws
          } finally {
            subscribed = false;
            JedisRoleProbe.closeQuietly(sub);
          }
          backoff = 100;
        } catch (RuntimeException e) {
          if (closed) {
            break;
          }
          subscribed = false;
          String why = describe(e);
          if (!why.equals(error)) {
            warnings.warn(log, "sentinel:" + address + ":" + why, "Sentinel {}: {}", address, why);
          }
          error = why;
          onChange.run();
        }
        if (!pause(backoff)) {
          break;
        }
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
      }
    }

    void subscribedNow() {
      subscribed = true;
      error = null;
      io.execute(this::queryQuietly); // a switch between the first query and the subscription is caught here
      onChange.run();
    }

    void switched(String message) {
      String[] parts = message.split(" ");
      if (parts.length != 5 || !parts[0].equals(masterName)) {
        return;
      }
      try {
        opinion = new HostAndPort(parts[3], Integer.parseInt(parts[4]));
      } catch (NumberFormatException e) {
        warnings.warn(log, "garbage:" + address, "Sentinel {} sent an unreadable +switch-master message: {}", address, message);
        return;
      }
      log.debug("Sentinel {} announced +switch-master {}", address, message);
      onChange.run();
      refresh(); // the message is a hint; the other Sentinels' answers decide the majority
    }

    synchronized void query() {
      try {
        if (query == null) {
          query = new Jedis(address, queryConfig);
        }
        List<String> reply = query.sentinelGetMasterAddrByName(masterName);
        HostAndPort next = parse(reply);
        if (!next.equals(opinion)) {
          opinion = next;
          onChange.run();
        }
      } catch (RuntimeException e) {
        JedisRoleProbe.closeQuietly(query);
        query = null;
        throw e;
      }
    }

    void queryQuietly() {
      try {
        query();
      } catch (RuntimeException e) {
        error = describe(e);
        log.debug("Sentinel {} query failed: {}", address, error);
      }
    }

    private HostAndPort parse(List<String> reply) {
      if (reply == null || reply.isEmpty()) {
        throw new SentinelAnswerException("does not know master set '" + masterName
            + "': check masterName (the name in the Sentinel's 'sentinel monitor <name> ...' line)");
      }
      if (reply.size() != 2) {
        throw new SentinelAnswerException("sent an unreadable answer to SENTINEL GET-MASTER-ADDR-BY-NAME: " + reply);
      }
      try {
        int port = Integer.parseInt(reply.get(1));
        if (port < 1 || port > 65535 || reply.get(0) == null || reply.get(0).isBlank()) {
          throw new NumberFormatException();
        }
        return new HostAndPort(reply.get(0), port);
      } catch (NumberFormatException e) {
        throw new SentinelAnswerException("sent an unreadable answer to SENTINEL GET-MASTER-ADDR-BY-NAME: " + reply);
      }
    }

    void ping() {
      PubSub ps = pubSub;
      if (ps != null && subscribed && ps.isSubscribed()) {
        try {
          ps.ping();
        } catch (RuntimeException e) {
          log.debug("heartbeat to Sentinel {} failed: {}", address, e.toString());
        }
      }
    }

    void close() {
      Thread t = thread;
      if (t != null) {
        t.interrupt();
      }
      Jedis sub = subscriber;
      if (sub != null) {
        try {
          sub.disconnect(); // unblocks the subscriber thread's read
        } catch (RuntimeException ignored) {
          // already broken
        }
      }
      synchronized (this) {
        JedisRoleProbe.closeQuietly(query);
        query = null;
      }
    }

    private String describe(RuntimeException e) {
      if (e instanceof SentinelAnswerException) {
        return e.getMessage();
      }
      if (e instanceof JedisAccessControlException) {
        return "authentication failed (" + JedisRoleProbe.firstLine(e) + "): check the Sentinel user/password (sentinelClientConfig)";
      }
      if (e instanceof JedisDataException) {
        return "refused a command (" + JedisRoleProbe.firstLine(e) + "): the Sentinel user needs SENTINEL, SUBSCRIBE and PING";
      }
      if (e instanceof JedisConnectionException) {
        return "unreachable (" + JedisRoleProbe.firstLine(e) + ")";
      }
      if (!(e instanceof redis.clients.jedis.exceptions.JedisException)) {
        // Jedis could not even parse it (wrong reply types): not a Sentinel speaking the protocol we expect
        return "sent a reply that cannot be read as a Sentinel's (" + e.getClass().getSimpleName() + "): is this address a Sentinel?";
      }
      return JedisRoleProbe.firstLine(e);
    }

    private boolean pause(long millis) {
      try {
        Thread.sleep(millis); // reconnect back-off of this link's own thread
        return true;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
  }

  private static final class PubSub extends JedisPubSub {
    private final Link link;

    PubSub(Link link) {
      this.link = link;
    }

    @Override
    public void onSubscribe(String channel, int subscribedChannels) {
      link.subscribedNow();
    }

    @Override
    public void onMessage(String channel, String message) {
      link.switched(message);
    }
  }

  /** A Sentinel answered, but not usefully (unknown master set, garbage). */
  private static final class SentinelAnswerException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    SentinelAnswerException(String message) {
      super(message, null, false, false);
    }
  }
}
