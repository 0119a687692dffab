package io.github.redismasterdiscovery;

import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisPubSub;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;

/**
 * One subscription per Sentinel in the JVM, shared by every discovery that watches it with the same
 * credentials, as pod informers are shared: 50 discoveries open one connection per Sentinel, not 50.
 *
 * <p>A link is one thread blocked in {@code SUBSCRIBE} on the failover channels (below), nothing
 * else, so it never waits behind a probe. On every (re)connect it first asks
 * {@code SENTINEL GET-MASTER-ADDR-BY-NAME} for each master set its users watch, on the same
 * connection, then subscribes. A {@code PING} heartbeat from the shared timer keeps it honest: a link
 * whose pong is three heartbeats late times out and reconnects (after a jittered back-off, so that a
 * fleet does not reconnect to a restarted Sentinel in step). Later queries (a new user, a refresh
 * while a Sentinel disagrees with the proven master) open a short-lived connection on the I/O pool.
 * The last user closes the link.
 */
final class SentinelLinks {

  private static final Logger log = LoggerFactory.getLogger(SentinelLinks.class);
  private static final long MAX_BACKOFF_MILLIS = 5_000;
  static final String CLIENT_NAME = "rmd-sentinel";

  /**
   * The failover progress Sentinel publishes (as recorded from Redis 7.0 for kill -9 and
   * SENTINEL FAILOVER): the leader announces the replica it chose ({@code +selected-slave},
   * {@code +failover-state-send-slaveof-noone}) up to one Sentinel timer tick (~100 ms) before the
   * promotion, {@code +failover-state-wait-promotion} as it sends {@code REPLICAOF NO ONE}, and
   * {@code +promoted-slave} at its next {@code INFO} of the replica, up to a second later and before
   * any {@code +switch-master}.
   */
  static final String[] CHANNELS = {"+switch-master", "+sdown", "-sdown", "+odown", "-odown", "+try-failover", "+selected-slave",
      "+failover-state-send-slaveof-noone", "+failover-state-wait-promotion", "+promoted-slave", "+failover-end", "+failover-end-for-timeout",
      "-failover-abort-not-elected", "-failover-abort-no-good-slave", "-failover-abort-slave-timeout"};

  /** What a link tells its users; called on the link's thread (or an I/O thread), so fast and non-blocking. */
  interface User {
    String masterName();

    /**
     * The Sentinel's current answer for {@link #masterName()}, from a query or {@code +switch-master};
     * or, with {@code master} null, why its answer was no address (an unknown master set, garbage).
     * {@code misconfigured}: the error is one no retry cures (an unknown master set).
     */
    void opinion(HostAndPort sentinel, HostAndPort master, String error, boolean misconfigured);

    /** A failover event about {@link #masterName()}. */
    void event(HostAndPort sentinel, SentinelEvent event);

    /**
     * The subscription is up ({@code error} null) or down (why); {@code misconfigured}: the error is
     * one no retry cures (credentials, permissions).
     */
    void state(HostAndPort sentinel, boolean subscribed, String error, boolean misconfigured);
  }

  /**
   * Links are shared only between users that connect exactly the same way: same credentials, same
   * TLS settings (socket factory, parameters, hostname verifier, options: compared by identity where
   * the class has no equality, so two configurations built apart never share), same client name,
   * protocol, timeout and heartbeat.
   */
  private record Key(HostAndPort address, String user, String password, Object credentials, boolean ssl, Object socketFactory,
      Object sslParameters, Object hostnameVerifier, Object sslOptions, String clientName, Object protocol, Duration timeout, Duration heartbeat) {
    static Key of(HostAndPort address, JedisClientConfig c, Duration timeout, Duration heartbeat) {
      // The default provider only carries the user and password (compared above): two configurations built apart with the
      // same credentials share. A provider of the application's own (tokens, rotation) is compared by identity.
      Object credentials = c.getCredentialsProvider() instanceof redis.clients.jedis.DefaultRedisCredentialsProvider ? null
          : c.getCredentialsProvider();
      return new Key(address, c.getUser(), c.getPassword(), credentials, c.isSsl(), c.getSslSocketFactory(),
          c.getSslParameters(), c.getHostnameVerifier(), c.getSslOptions(), c.getClientName(), c.getRedisProtocol(), timeout, heartbeat);
    }

    @Override
    public String toString() {
      return "Key[" + address + "]"; // never the password
    }
  }

  private static final Map<Key, Link> links = new HashMap<>();

  private SentinelLinks() {}

  /** Joins (or opens) the link to {@code address}; the user's opinion arrives through its callbacks. */
  static Link acquire(HostAndPort address, JedisClientConfig config, Duration timeout, Duration heartbeat, SharedRuntime runtime, User user) {
    Key key = Key.of(address, config, timeout, heartbeat);
    Link link;
    boolean start = false;
    synchronized (SentinelLinks.class) {
      link = links.get(key);
      if (link == null) {
        link = new Link(key, config, timeout, heartbeat, runtime);
        links.put(key, link);
        start = true;
      }
      link.users.add(user);
    }
    if (start) {
      link.start();
    } else {
      link.joined(user);
    }
    return link;
  }

  /** Leaves a link; the last user closes it. */
  static void release(Link link, User user) {
    boolean close;
    synchronized (SentinelLinks.class) {
      link.users.remove(user);
      close = link.users.isEmpty();
      if (close) {
        links.remove(link.key, link);
      }
    }
    if (close) {
      link.close();
    }
  }

  /** Links open in this JVM (for tests and benchmarks). */
  static synchronized int open() {
    return links.size();
  }

  /** One Sentinel: a subscriber thread, its users, and how it is doing. */
  static final class Link implements Runnable {
    final HostAndPort address;
    private final Key key;
    private final JedisClientConfig queryConfig;
    private final JedisClientConfig subscriberConfig;
    private final Duration heartbeat;
    private final SharedRuntime runtime;
    final List<User> users = new CopyOnWriteArrayList<>();
    private volatile boolean closed;
    private volatile boolean subscribed;
    private volatile boolean established; // this attempt reached SUBSCRIBE
    private volatile String error;
    private volatile boolean misconfigured; // error is a configuration error
    private volatile Thread thread;
    private volatile Jedis subscriber;
    private volatile PubSub pubSub;
    private ScheduledFuture<?> heartbeats;

    private Link(Key key, JedisClientConfig config, Duration timeout, Duration heartbeat, SharedRuntime runtime) {
      this.key = key;
      this.address = key.address();
      this.heartbeat = heartbeat;
      this.runtime = runtime;
      this.queryConfig = RedisConfigs.named(RedisConfigs.withTimeouts(config, timeout), CLIENT_NAME);
      this.subscriberConfig = RedisConfigs.named(RedisConfigs.forSubscriber(config, handshakeTimeout(timeout, heartbeat),
          heartbeat.multipliedBy(3)), CLIENT_NAME);
    }

    /**
     * How long the subscriber's handshake and first query may take: a Sentinel that accepts the
     * connection but never answers is reported within it, and one slowed down by a whole fleet
     * (re)connecting at once is not dropped for answering in a second: 2 s, or {@code probeTimeout}
     * if longer, and never more than the subscribed read timeout.
     */
    static Duration handshakeTimeout(Duration probeTimeout, Duration heartbeat) {
      Duration t = probeTimeout.compareTo(Duration.ofSeconds(2)) > 0 ? probeTimeout : Duration.ofSeconds(2);
      Duration subscribed = heartbeat.multipliedBy(3);
      return t.compareTo(subscribed) > 0 ? subscribed : t;
    }

    private void start() {
      Thread t = new Thread(this, "rmd-sentinel-" + address);
      t.setDaemon(true);
      thread = t;
      t.start();
      long millis = heartbeat.toMillis();
      heartbeats = runtime.timer.scheduleWithFixedDelay(() -> runtime.heartbeat(this::ping), millis, millis, TimeUnit.MILLISECONDS);
    }

    /** A user joined a link that may have been up for long: give it this Sentinel's state and opinion now. */
    private void joined(User user) {
      user.state(address, subscribed, error, misconfigured);
      if (subscribed) {
        refresh(user.masterName());
      }
    }

    /** Asks the Sentinel again for {@code masterName}, on a short-lived connection, off the caller's thread. */
    void refresh(String masterName) {
      runtime.io(() -> {
        try (Jedis query = new Jedis(address, queryConfig)) {
          ask(query, masterName);
        } catch (RuntimeException e) {
          log.debug("Sentinel {} query for {} failed: {}", address, masterName, describe(e));
        }
      });
    }

    @Override
    public void run() {
      long backoff = 100;
      while (!closed) {
        Jedis sub = null;
        established = false;
        try {
          sub = new Jedis(address, subscriberConfig);
          subscriber = sub;
          for (String name : masterNames()) {
            ask(sub, name); // before subscribing: a switch in between shows as a disagreement with the proven master
          }
          PubSub ps = new PubSub(this);
          pubSub = ps;
          sub.subscribe(ps, CHANNELS); // returns only when unsubscribed (close) or throws
        } catch (RuntimeException e) {
          if (closed) {
            break;
          }
          String why = describe(e);
          boolean changed = !why.equals(error);
          error = why;
          misconfigured = Misconfiguration.kind(e) != null;
          setSubscribed(false);
          if (changed) {
            log.debug("Sentinel {}: {}", address, why);
          }
        } finally {
          if (subscribed) {
            setSubscribed(false);
          }
          JedisRoleProbe.closeQuietly(sub);
        }
        if (established) {
          backoff = 100; // a link that worked and dropped reconnects quickly; only repeated failures back off
        }
        // Jittered: when a Sentinel restarts, every pod of a fleet loses its link at the same instant.
        if (!pause((long) (backoff * (0.5 + java.util.concurrent.ThreadLocalRandom.current().nextDouble())))) {
          break;
        }
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
      }
    }

    private Set<String> masterNames() {
      Set<String> names = new LinkedHashSet<>();
      users.forEach(u -> names.add(u.masterName()));
      return names;
    }

    private void setSubscribed(boolean now) {
      subscribed = now;
      users.forEach(u -> u.state(address, now, now ? null : error, !now && misconfigured));
    }

    private void subscribedNow() {
      established = true;
      error = null;
      misconfigured = false;
      setSubscribed(true);
      // No second query on a connection of its own: when a fleet's links all reconnect at once (a Sentinel restarted, a
      // network blip), that would double the connections the Sentinel accepts. A switch in the round trip between the query
      // and SUBSCRIBE leaves this Sentinel naming the old master, which the discovery sees as a disagreement with the
      // proven master and asks again about (sentinelRefreshInterval).
    }

    private void message(String channel, String message) {
      SentinelEvent event = SentinelEvent.parse(channel, message);
      if (event == null) {
        log.debug("Sentinel {} sent an unreadable {} message: {}", address, channel, message);
        return;
      }
      for (User u : users) {
        if (u.masterName().equals(event.masterName())) {
          if (event.isSwitch()) {
            u.opinion(address, event.instance(), null, false);
          }
          u.event(address, event);
        }
      }
    }

    /** Asks for {@code masterName} and tells its users; an answer that is no address goes to them alone, not the link. */
    private void ask(Jedis jedis, String masterName) {
      HostAndPort master = null;
      String why = null;
      boolean unknownMaster = false;
      try {
        master = query(jedis, masterName);
      } catch (SentinelAnswerException e) {
        why = e.getMessage();
        unknownMaster = e.misconfigured;
      }
      for (User u : users) {
        if (u.masterName().equals(masterName)) {
          u.opinion(address, master, why, unknownMaster);
        }
      }
    }

    /** {@code SENTINEL GET-MASTER-ADDR-BY-NAME}; throws {@link SentinelAnswerException} for an answer that is no address. */
    private static HostAndPort query(Jedis jedis, String masterName) {
      List<String> reply = jedis.sentinelGetMasterAddrByName(masterName);
      if (reply == null || reply.isEmpty()) {
        throw new SentinelAnswerException("does not know master set '" + masterName
            + "': check masterName (the name in the Sentinel's 'sentinel monitor <name> ...' line)", true);
      }
      if (reply.size() != 2) {
        throw new SentinelAnswerException("sent an unreadable answer to SENTINEL GET-MASTER-ADDR-BY-NAME: " + reply, false);
      }
      try {
        int port = Integer.parseInt(reply.get(1));
        if (port < 1 || port > 65535 || reply.get(0) == null || reply.get(0).isBlank()) {
          throw new NumberFormatException();
        }
        return new HostAndPort(reply.get(0), port);
      } catch (NumberFormatException e) {
        throw new SentinelAnswerException("sent an unreadable answer to SENTINEL GET-MASTER-ADDR-BY-NAME: " + reply, false);
      }
    }

    private void ping() {
      PubSub ps = pubSub;
      if (ps != null && subscribed && ps.isSubscribed()) {
        try {
          ps.ping();
        } catch (RuntimeException e) {
          log.debug("heartbeat to Sentinel {} failed: {}", address, e.toString());
        }
      }
    }

    private void close() {
      closed = true;
      if (heartbeats != null) {
        heartbeats.cancel(false);
      }
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
      if (t != null && t != Thread.currentThread()) {
        try {
          t.join(2_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }

    static String describe(RuntimeException e) {
      if (e instanceof SentinelAnswerException) {
        return e.getMessage();
      }
      String misconfigured = Misconfiguration.describe(e, Misconfiguration.Peer.SENTINEL);
      if (misconfigured != null) {
        return misconfigured;
      }
      if (e instanceof JedisDataException) {
        return "refused a command (" + JedisRoleProbe.firstLine(e) + "): the Sentinel user needs SENTINEL GET-MASTER-ADDR-BY-NAME, "
            + "SUBSCRIBE and PING";
      }
      if (e instanceof JedisConnectionException) {
        return "unreachable (" + JedisRoleProbe.firstLine(e) + ")";
      }
      if (!(e instanceof JedisException)) {
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

    @Override
    public String toString() {
      return "SentinelLink{" + address + ", users=" + users.size() + ", subscribed=" + subscribed + "}";
    }
  }

  private static final class PubSub extends JedisPubSub {
    private final Link link;
    private boolean first = true;

    PubSub(Link link) {
      this.link = link;
    }

    @Override
    public void onSubscribe(String channel, int subscribedChannels) {
      if (first) {
        first = false;
        link.subscribedNow();
      }
    }

    @Override
    public void onMessage(String channel, String message) {
      link.message(channel, message);
    }
  }

  /** A Sentinel answered, but not usefully (unknown master set, garbage). */
  static final class SentinelAnswerException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** No retry cures it (an unknown master set), unlike garbage, which may be a Sentinel still starting. */
    final boolean misconfigured;

    SentinelAnswerException(String message, boolean misconfigured) {
      super(message, null, false, false);
      this.misconfigured = misconfigured;
    }
  }

  /** A parsed Sentinel event: which master set it is about, the instance it names, and the master's address. */
  record SentinelEvent(String channel, String masterName, HostAndPort instance, HostAndPort master) {

    /**
     * Parses {@code +switch-master <name> <old-ip> <old-port> <new-ip> <new-port>}, a master event
     * {@code master <name> <ip> <port> ...}, or an instance event
     * {@code <type> <name> <ip> <port> @ <master-name> <master-ip> <master-port>}; null when unreadable.
     */
    static SentinelEvent parse(String channel, String message) {
      String[] t = message.trim().split(" +");
      try {
        if ("+switch-master".equals(channel)) {
          if (t.length != 5) {
            return null;
          }
          return new SentinelEvent(channel, t[0], address(t[3], t[4]), address(t[1], t[2]));
        }
        if (t.length >= 4 && "master".equals(t[0])) {
          HostAndPort master = address(t[2], t[3]);
          return new SentinelEvent(channel, t[1], master, master);
        }
        if (t.length >= 8 && "@".equals(t[4])) {
          return new SentinelEvent(channel, t[5], address(t[2], t[3]), address(t[6], t[7]));
        }
      } catch (NumberFormatException e) {
        return null;
      }
      return null;
    }

    private static HostAndPort address(String host, String port) {
      int p = Integer.parseInt(port);
      if (p < 1 || p > 65535 || host.isBlank()) {
        throw new NumberFormatException(host + ":" + port);
      }
      return new HostAndPort(host, p);
    }

    boolean isSwitch() {
      return "+switch-master".equals(channel);
    }

    /** The leader names the replica it is about to promote: the moment to stop writing to the old master. */
    boolean isPromotionStarting() {
      return "+selected-slave".equals(channel) || "+failover-state-send-slaveof-noone".equals(channel)
          || isPromotionSent();
    }

    /** The leader has just sent {@code REPLICAOF NO ONE} to the replica: the moment it turns master. */
    boolean isPromotionSent() {
      return "+failover-state-wait-promotion".equals(channel);
    }

    /**
     * The failover was abandoned before a promotion: the old master stays. {@code +failover-end-for-timeout}
     * is not one: Sentinel sends it when reconfiguring the replicas took too long, after the promotion.
     */
    boolean isAbort() {
      return channel.startsWith("-failover-abort");
    }

    boolean isMasterDown() {
      return "+odown".equals(channel) && Objects.equals(instance, master);
    }
  }
}
