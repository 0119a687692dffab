package io.github.redismasterdiscovery.bench;

import io.github.redismasterdiscovery.FailoverJedisPool;
import io.github.redismasterdiscovery.FailoverSubscription;
import io.github.redismasterdiscovery.MasterChangedException;
import io.github.redismasterdiscovery.testkit.PromotionWatch;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPubSub;
import redis.clients.jedis.JedisSentinelPool;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.PipeliningBase;
import redis.clients.jedis.Response;
import redis.clients.jedis.Transaction;
import redis.clients.jedis.util.Pool;

/**
 * The ways applications use a pooled connection, per client, through repeated failovers (kill -9
 * and SENTINEL FAILOVER), all patterns at once in the same failover:
 *
 * <ul>
 *   <li>a {@code Jedis} borrowed before the fault, left idle, then used for 20 SETs once the client
 *       has switched (on an error the application closes it and borrows again; the failed SET is not
 *       retried);
 *   <li>a pipeline of 100 SETs and a MULTI of 10 SETs, each on a connection borrowed before the fault
 *       and used after the switch;
 *   <li>a consumer in {@code BLPOP 0} on the old master, with an element pushed straight to the new
 *       master the moment it is promoted: promotion to pop;
 *   <li>a publisher sending a sequence number every 20 ms through the same pool, and a subscriber:
 *       {@link FailoverJedisPool#subscribe} for our pool, and on every pool the loop an application
 *       writes without it (subscribe on a pooled {@code Jedis}, subscribe again when that returns or
 *       throws).
 * </ul>
 *
 * Lost: acknowledged to the caller and missing from the final master once the topology is healthy
 * again. The promotion is timed by the promoted node's own log (the bench learns of it through
 * {@link PromotionWatch}, which may see it later); when a subscription exists on the new master is
 * told by {@code PUBSUB NUMSUB} there, polled every millisecond; after
 * SENTINEL FAILOVER, an observer subscribed on the old master counts the client's PUBLISHes it took
 * after the promotion. The blocking consumer and the plain subscriber run the same code on every pool.
 */
final class UsagePatterns {

  static final Clients.Kind[] CLIENTS = {Clients.Kind.FAILOVER_JEDIS_POOL, Clients.Kind.JEDIS_SENTINEL_POOL};
  /** How long each failover is watched after the promotion; the publisher runs until then. */
  static final Duration WINDOW = Duration.ofSeconds(20);
  /** What the tables call "still blocked". */
  static final Duration BLOCKED = Duration.ofSeconds(5);
  static final int HELD_SETS = 20;
  static final int PIPELINE_SETS = 100;
  static final int MULTI_SETS = 10;
  static final long PUBLISH_EVERY_MS = 20;
  /** After a failed borrow, before the plain loops try again (the consumer and subscriber an application would write). */
  private static final long RETRY_PAUSE_MS = 50;

  /** Writes of one pattern in one failover. Refused: failed with {@link MasterChangedException} that says nothing ran. */
  record Writes(int acked, int lost, int errors, int refused) {}

  /**
   * One subscriber in one failover; times in ms from the promotion, NaN for "did not happen within the
   * window". {@code lostAfter}: lost messages whose PUBLISH was acknowledged after the subscription was
   * seen on the new master (the rest were published where no subscription of this subscriber was).
   * {@code lostAt}: when each lost message's PUBLISH was acknowledged (for the log).
   */
  record PubSub(String subscriber, int published, int lost, int lostAfter, int duplicates, double onNewMs, double gapMs,
      double longestSilenceMs, long onFinalMaster, List<Double> lostAt) {}

  /**
   * One failover; times in ms from the promotion (NaN: not within the window), except
   * {@code promotionMs}, from the fault; {@code pushMs}: when the element for BLPOP was pushed (once
   * PromotionWatch had seen the promotion, which may be later than the node logged it); {@code pushToPopMs}:
   * how long the element waited on the new master.
   */
  record Sample(double promotionMs, double pushMs, double switchMs, Writes held, Writes pipeline, Writes multi, double popMs,
      double pushToPopMs, int pops, List<PubSub> pubSub, OldMaster oldMaster) {}

  /**
   * The old master after the promotion, for SENTINEL FAILOVER (after kill -9 it is gone: null): when
   * it stopped answering ROLE master (ms from the promotion, NaN: not within the window), and how many
   * of the client's messages on one channel it delivered as master after the promotion.
   */
  record OldMaster(double demotedMs, long publishes) {}

  /** Per "client | fault". */
  final Map<String, List<Sample>> samples = new LinkedHashMap<>();
  final Map<String, Integer> failed = new LinkedHashMap<>();

  void run(int iterations) throws Exception {
    FailoverRecovery.repeat("patterns", CLIENTS, iterations, samples, failed,
        (t, client, fault, i) -> once(t, (Clients.JedisClient) client, fault, i));
  }

  /** The markdown section: one table of writes, one of the blocking read, one of pub/sub; counts summed, times listed per failover. */
  String markdown() {
    StringBuilder md = new StringBuilder("## Usage patterns through failover\n\n")
        .append("Per client and fault, every pattern at once in the same failover: a `Jedis` borrowed before the fault and left ")
        .append("idle, then used for ").append(HELD_SETS).append(" SETs once the client has switched (after an error the application ")
        .append("closes it and borrows again; the failed SET is not retried); a pipeline of ").append(PIPELINE_SETS)
        .append(" SETs and a `MULTI` of ").append(MULTI_SETS).append(" SETs, each on a connection borrowed before the fault and used ")
        .append("after the switch; a consumer in `BLPOP 0` on the old master, with an element pushed straight to the new master as ")
        .append("soon as the bench sees it promoted; a publisher sending a sequence number every ").append(PUBLISH_EVERY_MS)
        .append(" ms through the same pool, and its subscribers. Each failover is watched for ").append(WINDOW.toSeconds())
        .append(" s after the promotion, then the topology is made whole again (a killed node restarted; a node still claiming ")
        .append("master demoted) and checked. *Lost*: acknowledged to the caller, missing from the final master. *Refused*: errors ")
        .append("that are `MasterChangedException` with `mayHaveRun()` false (not sent; safe to run again). *The promotion* (every time ")
        .append("below is from it) is the promoted node's own log line `MASTER MODE enabled` (ms resolution). The bench learns of it ")
        .append("through the testkit's `PromotionWatch` (`ROLE` polled every 1 ms), which can see it later: Sentinel's ")
        .append("`CLIENT KILL TYPE normal` at the promotion drops its connections and it reconnects (the BLPOP element is pushed ")
        .append("once the watch has seen the promotion: promotion → push is listed). *Client switched*: its own view names another master (the ")
        .append("discovery's snapshot; `JedisSentinelPool.getCurrentHostMaster()`), polled every 1 ms from before the fault.\n\n")
        .append("Lettuce (MasterReplica) and Redisson are n/a: the bench drives them through single SETs only; their equivalents of ")
        .append("these patterns (Lettuce's one shared connection, Redisson's `RBatch`, `RTransaction`, `RBlockingQueue`, `RTopic`) are ")
        .append("different code, not measured here.\n\n");

    md.append("### Writes on connections borrowed before the fault (counts summed over the failovers, times per failover)\n\n")
        .append("| client | fault | n | fault → promotion, ms | promotion → client switched, ms | held idle `Jedis`, ")
        .append(HELD_SETS).append(" SETs: acked / lost / errors (refused) | pipeline of ").append(PIPELINE_SETS)
        .append(" SETs: acked / lost / errors (refused) | `MULTI` of ").append(MULTI_SETS)
        .append(" SETs: acked / lost / errors (refused) |\n|---|---|---|---|---|---|---|---|\n");
    forEach((client, fault, n, s) -> md.append(String.format("| %s | %s | %s | %s | %s | %s | %s | %s |%n", client, fault, n,
        each(s, Sample::promotionMs), each(s, Sample::switchMs), writes(s, Sample::held), writes(s, Sample::pipeline),
        writes(s, Sample::multi))), "| %s | | n/a | n/a | n/a | n/a | n/a | n/a |%n", md);

    md.append("\n### `BLPOP 0` blocked on the old master\n\n")
        .append("Promotion → pop of the element pushed straight to the new master as soon as the bench sees the promotion, per ")
        .append("failover; \"still blocked after ").append(BLOCKED.toSeconds()).append(" s\" when later (the time it came, if within ")
        .append("the window); push → pop: how long the element waited there (from sending the RPUSH). The same consumer loop on ")
        .append("every pool: `BLPOP 0` on a pooled `Jedis`, borrow again at once after an error, ").append(RETRY_PAUSE_MS)
        .append(" ms pause after a failed borrow.\n\n")
        .append("| client | fault | n | promotion → pop, ms | promotion → push, ms | push → pop, ms | elements popped (1 pushed per ")
        .append("failover) |\n|---|---|---|---|---|---|---|\n");
    forEach((client, fault, n, s) -> md.append(String.format("| %s | %s | %s | %s | %s | %s | %s |%n", client, fault, n, pops(s),
        each(s, Sample::pushMs), each(s, Sample::pushToPopMs), s.stream().map(x -> Integer.toString(x.pops()))
            .collect(Collectors.joining(", ")))), "| %s | | n/a | n/a | n/a | n/a | n/a |%n", md);

    md.append("\n### Pub/sub\n\n")
        .append("*Published*: PUBLISHes acknowledged in the failover's whole run (from before the fault to the end of the window); ")
        .append("*lost*: of those, never received; in brackets those acknowledged after the subscription was seen on the new master ")
        .append("(the others were published where this subscriber had no subscription at the time); *subscribed on the new master*: ")
        .append("when `PUBSUB NUMSUB` there (polled every 1 ms) first counts the subscriber's channel; *gap*: promotion → first message ")
        .append("received once the subscription exists on the new master (a message every ").append(PUBLISH_EVERY_MS)
        .append(" ms; target ≤ 50 ms), \"none\" when it did not within ").append(WINDOW.toSeconds())
        .append(" s; *longest silence*: the longest time without a message, fault to end of window; *on the final master*: ")
        .append("`PUBSUB NUMSUB` of the subscriber's channel on the final master once the topology is whole again. The plain loop ")
        .append("is what an application writes without help: `subscribe` on a pooled `Jedis`, subscribe again when it returns or ")
        .append("throws (").append(RETRY_PAUSE_MS).append(" ms pause after a failed borrow).\n\n")
        .append("| client | subscriber | fault | n | published | lost (of them after the resubscription) | duplicates | ")
        .append("promotion → subscribed on the new master, ms | gap, ms | longest silence, ms | on the final master |\n")
        .append("|---|---|---|---|---|---|---|---|---|---|---|\n");
    forEach((client, fault, n, s) -> {
      List<String> subscribers = s.isEmpty() ? List.of() : s.get(0).pubSub().stream().map(PubSub::subscriber).toList();
      for (int k = 0; k < subscribers.size(); k++) {
        int i = k;
        List<PubSub> ps = s.stream().map(x -> x.pubSub().get(i)).toList();
        md.append(String.format("| %s | %s | %s | %s | %d | %d (%d) | %d | %s | %s | %s | %s |%n", client, subscribers.get(i), fault, n,
            ps.stream().mapToInt(PubSub::published).sum(), ps.stream().mapToInt(PubSub::lost).sum(),
            ps.stream().mapToInt(PubSub::lostAfter).sum(), ps.stream().mapToInt(PubSub::duplicates).sum(),
            join(ps, PubSub::onNewMs, "none"), join(ps, PubSub::gapMs, "none"), join(ps, PubSub::longestSilenceMs, "none"),
            ps.stream().map(x -> Long.toString(x.onFinalMaster())).collect(Collectors.joining(", "))));
      }
    }, "| %s | | | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a |%n", md);

    md.append("\n### The old master after SENTINEL FAILOVER\n\n")
        .append("When the old master stopped answering `ROLE` master (polled every 5 ms on a connection opened before the fault; ")
        .append("Sentinel demotes it at its own pace), and how many of the client's PUBLISHes it took after the promotion, until then: ")
        .append("counted by an observer subscribed there directly to the client's first channel, per failover.\n\n")
        .append("| client | n | old master demoted, ms after the promotion | PUBLISHes it took after the promotion |\n|---|---|---|---|\n");
    for (Map.Entry<String, List<Sample>> e : samples.entrySet()) {
      List<OldMaster> old = e.getValue().stream().map(Sample::oldMaster).filter(java.util.Objects::nonNull).toList();
      if (!old.isEmpty()) {
        md.append(String.format("| %s | %d | %s | %s |%n", e.getKey().split(" \\| ")[0], old.size(), join(old, OldMaster::demotedMs, "none"),
            old.stream().map(o -> Long.toString(o.publishes())).collect(Collectors.joining(", "))));
      }
    }
    md.append("\nNotes (from reading the code, not from this run):\n\n")
        .append("- JedisSentinelPool checks each borrowed connection against the current master with the address of the socket factory ")
        .append("that all of its connections share, and the switch re-points that factory (read in Jedis 7.0.0: ")
        .append("`JedisFactory.setHostAndPort`, `JedisSentinelPool.getResource`). A connection to the old master that was out of the ")
        .append("pool at the switch (the held one, the pipeline's, the publisher's) therefore passes the check when it is borrowed ")
        .append("again and keeps talking to the old master until that closes it. Its publisher may so keep publishing to the demoted ")
        .append("master, where its subscriber still is (messages flow, on the old master) or not, by the timing of one borrow.\n")
        .append("- Lost messages outside the brackets were published before the subscriber's subscription existed on the new master ")
        .append("(on the new master before it, or on the old one after the subscriber had left it): pub/sub delivers them to nobody. ")
        .append("Lost messages in brackets would be a defect.\n");
    return md.append('\n').toString();
  }

  private interface Row {
    void add(String client, String fault, String n, List<Sample> samples);
  }

  /** Every measured (client, fault), then one n/a row per peer not measured. */
  private void forEach(Row row, String notMeasuredRow, StringBuilder md) {
    for (Map.Entry<String, List<Sample>> e : samples.entrySet()) {
      String[] parts = e.getKey().split(" \\| ");
      int notMeasured = failed.getOrDefault(e.getKey(), 0);
      row.add(parts[0], parts[1], e.getValue().size() + (notMeasured == 0 ? "" : " (+" + notMeasured + " not measured)"), e.getValue());
    }
    for (Clients.Kind peer : new Clients.Kind[] {Clients.Kind.LETTUCE_MASTER_REPLICA, Clients.Kind.REDISSON_SENTINEL}) {
      md.append(String.format(notMeasuredRow, peer.label));
    }
  }

  private static String each(List<Sample> s, ToDoubleFunction<Sample> f) {
    return join(s, f, "none");
  }

  private static <T> String join(List<T> rows, ToDoubleFunction<T> f, String nan) {
    return rows.stream().map(r -> {
      double v = f.applyAsDouble(r);
      return Double.isNaN(v) ? nan : Stats.fmt(v);
    }).collect(Collectors.joining(", "));
  }

  private static String writes(List<Sample> s, Function<Sample, Writes> f) {
    List<Writes> w = s.stream().map(f).toList();
    return String.format("%d / %d / %d (%d)", w.stream().mapToInt(Writes::acked).sum(), w.stream().mapToInt(Writes::lost).sum(),
        w.stream().mapToInt(Writes::errors).sum(), w.stream().mapToInt(Writes::refused).sum());
  }

  private static String pops(List<Sample> s) {
    return s.stream().map(x -> {
      if (Double.isNaN(x.popMs())) {
        return "still blocked after " + WINDOW.toSeconds() + " s";
      }
      if (x.popMs() > BLOCKED.toMillis()) {
        return "still blocked after " + BLOCKED.toSeconds() + " s (popped at " + Stats.fmt(x.popMs()) + ")";
      }
      return Stats.fmt(x.popMs());
    }).collect(Collectors.joining(", "));
  }

  private static Sample once(RedisHaTopology t, Clients.JedisClient client, String fault, int iteration) throws Exception {
    Pool<Jedis> pool = client.pool;
    String p = "pat" + iteration + ":";
    RedisProcess old = t.awaitHealthy(Duration.ofSeconds(60));
    List<Closer> open = new ArrayList<>();
    try {
      Borrowed held = open(open, new Borrowed(pool));
      Borrowed forPipeline = open(open, new Borrowed(pool));
      Borrowed forMulti = open(open, new Borrowed(pool));
      BlockingConsumer consumer = open(open, new BlockingConsumer(pool, p + "queue"));
      Map<String, Subscriber> subscribers = new LinkedHashMap<>();
      if (pool instanceof FailoverJedisPool ours) {
        subscribers.put("FailoverSubscription", open(open, Subscriber.following(ours, p + "following")));
      }
      subscribers.put("plain loop", open(open, Subscriber.plain(pool, p + "plain")));
      List<String> channels = subscribers.values().stream().map(s -> s.channel).toList();
      awaitTrue(Duration.ofSeconds(10), "the consumer blocked and every subscriber subscribed on " + old,
          () -> t.blockedClients(old) >= 1 && subscribedOn(t, old, channels));
      // Only now: a message published before its subscription exists would count as lost.
      Publisher publisher = open(open, new Publisher(pool, channels));
      awaitTrue(Duration.ofSeconds(10), "every subscriber receiving on " + old,
          () -> subscribers.values().stream().allMatch(s -> s.received.size() >= 5));
      OldMasterWatch oldMaster = fault.equals("kill -9") ? null : open(open, new OldMasterWatch(t, old, channels.get(0)));
      SwitchWatch switchWatch = open(open, new SwitchWatch(client, old));
      PromotionWatch watch = PromotionWatch.start(t, t.replicasOf(old), Duration.ofSeconds(30));
      long faultAt = System.nanoTime();
      if (fault.equals("kill -9")) {
        old.kill();
      } else {
        t.failover();
      }
      long watchedAt = watch.promotedAtNanos(Duration.ofSeconds(30));
      RedisProcess next = watch.promoted(Duration.ofSeconds(30));
      long windowEnd = watchedAt + WINDOW.toNanos();
      SubscriptionWatch onNew = open(open, new SubscriptionWatch(t, next, channels, windowEnd));
      long pushedAt = push(t, next, p + "queue");
      if (oldMaster != null) {
        oldMaster.start(windowEnd);
      }

      while (switchWatch.switchedAt() == 0 && System.nanoTime() < windowEnd) {
        LockSupport.parkNanos(1_000_000);
      }
      // After the client switched (or the window ended): the connections borrowed before the fault are used now.
      List<String> acked = new ArrayList<>();
      Writes heldWrites = held(pool, held, p + "held:", acked);
      Writes pipelineWrites = batch(forPipeline, false, PIPELINE_SETS, p + "pipe:", acked);
      Writes multiWrites = batch(forMulti, true, MULTI_SETS, p + "multi:", acked);
      sleepUntil(windowEnd);
      long stoppedAt = publisher.stop();
      TimeUnit.MILLISECONDS.sleep(200); // messages in flight
      long promotedAt = promotionLogged(next, faultAt, watchedAt);
      if (switchWatch.switchedAt() != 0 && !next.address().equals(switchWatch.switchedTo())) {
        System.out.printf("patterns: %s, %s: switched to %s, not to the promoted %s%n", client.kind.label, fault, switchWatch.switchedTo(), next);
      }

      FailoverRecovery.restore(t);
      RedisProcess last = t.awaitHealthy(Duration.ofSeconds(60));
      if (last != next) {
        System.out.printf("patterns: %s, %s: promoted %s but the final master is %s%n", client.kind.label, fault, next, last);
      }
      boolean[] present = FailoverRecovery.exists(t, last, acked);
      Set<String> missing = new HashSet<>();
      for (int i = 0; i < present.length; i++) {
        if (!present[i]) {
          missing.add(acked.get(i));
        }
      }
      Map<String, Long> numSub;
      try (Jedis j = t.connect(last)) {
        numSub = j.pubsubNumSub(channels.toArray(String[]::new));
      }
      List<PubSub> pubSub = new ArrayList<>();
      for (Map.Entry<String, Subscriber> e : subscribers.entrySet()) {
        Subscriber s = e.getValue();
        pubSub.add(s.summary(e.getKey(), publisher.published.get(s.channel), promotedAt, onNew.firstSeen(s.channel), faultAt,
            stoppedAt, numSub.getOrDefault(s.channel, 0L)));
      }
      long poppedAt = consumer.poppedAt.get();
      Sample sample = new Sample((promotedAt - faultAt) / 1e6, since(promotedAt, pushedAt), since(promotedAt, switchWatch.switchedAt()),
          withLost(heldWrites, p + "held:", missing), withLost(pipelineWrites, p + "pipe:", missing),
          withLost(multiWrites, p + "multi:", missing), since(promotedAt, poppedAt), since(pushedAt, poppedAt), consumer.pops.get(),
          pubSub, oldMaster == null ? null : oldMaster.result(promotedAt));
      System.out.printf("patterns: %s, %s, failover %d: %s%n", client.kind.label, fault, iteration, sample);
      return sample;
    } finally {
      for (int i = open.size() - 1; i >= 0; i--) {
        try {
          open.get(i).close();
        } catch (RuntimeException e) {
          // a connection to a node that is gone or demoted: nothing to give back
        }
      }
    }
  }

  /** Something to end after the failover, whatever happened. */
  private interface Closer {
    void close();
  }

  private static <T extends Closer> T open(List<Closer> open, T c) {
    open.add(c);
    return c;
  }

  /**
   * A connection borrowed before the fault and proven live, closed once: by the pattern, or at the
   * end whatever happened (a second {@code close()} of a pooled Jedis would close the socket under
   * whoever borrowed it next).
   */
  private static final class Borrowed implements Closer {
    final Jedis jedis;
    private boolean closed;

    Borrowed(Pool<Jedis> pool) {
      jedis = pool.getResource();
      jedis.ping();
    }

    @Override
    public void close() {
      if (!closed) {
        closed = true;
        closeQuietly(jedis);
      }
    }
  }

  /** Ms from {@code from} to {@code at}; NaN when {@code at} never happened (0). */
  private static double since(long from, long at) {
    return at == 0 ? Double.NaN : (at - from) / 1e6;
  }

  private static final DateTimeFormatter REDIS_LOG_TIME = DateTimeFormatter.ofPattern("dd MMM yyyy HH:mm:ss.SSS", Locale.ROOT)
      .withZone(ZoneId.systemDefault());

  /**
   * When the promoted node executed {@code REPLICAOF NO ONE}, from its own log line "MASTER MODE
   * enabled" (ms resolution, local time like the server's), as a {@link System#nanoTime()}: the
   * reference for every "from the promotion" time. PromotionWatch's time when the line is missing or
   * out of [fault, watch].
   */
  private static long promotionLogged(RedisProcess node, long faultAt, long watchedAt) {
    try {
      List<String> lines = java.nio.file.Files.readAllLines(node.logFile());
      for (int i = lines.size() - 1; i >= 0; i--) {
        String line = lines.get(i);
        if (line.contains("MASTER MODE enabled")) {
          // "<pid>:M 05 Dec 2026 09:37:37.185 * MASTER MODE enabled (...)"
          String time = line.substring(line.indexOf(' ') + 1, line.indexOf(" * "));
          long epochMs = Instant.from(REDIS_LOG_TIME.parse(time)).toEpochMilli();
          long at = System.nanoTime() - (System.currentTimeMillis() - epochMs) * 1_000_000;
          return at >= faultAt && at <= watchedAt ? at : watchedAt;
        }
      }
    } catch (java.io.IOException | RuntimeException e) {
      System.out.printf("patterns: cannot read the promotion from %s: %s%n", node.logFile(), e);
    }
    return watchedAt;
  }

  /** Polls the client's own view of the master every millisecond from before the fault: when it first named another node. */
  private static final class SwitchWatch implements Closer {
    private volatile long switchedAt;
    private volatile HostAndPort switchedTo;
    private volatile boolean stop;

    SwitchWatch(Clients.JedisClient client, RedisProcess old) {
      Supplier<HostAndPort> view = client.pool instanceof FailoverJedisPool ours
          ? () -> ours.discovery().snapshot().master().orElse(null)
          : ((JedisSentinelPool) client.pool)::getCurrentHostMaster;
      Thread thread = new Thread(() -> {
        while (!stop) {
          HostAndPort now = view.get();
          if (now != null && !now.equals(old.address())) {
            switchedTo = now;
            switchedAt = System.nanoTime();
            return;
          }
          LockSupport.parkNanos(1_000_000);
        }
      }, "bench-switch-watch");
      thread.setDaemon(true);
      thread.start();
    }

    long switchedAt() {
      return switchedAt;
    }

    HostAndPort switchedTo() {
      return switchedTo;
    }

    @Override
    public void close() {
      stop = true;
    }
  }

  private static Writes held(Pool<Jedis> pool, Borrowed held, String prefix, List<String> acked) {
    int errors = 0;
    int refused = 0;
    Jedis j = held.jedis;
    for (int i = 0; i < HELD_SETS; i++) {
      try {
        if (j == null) {
          j = pool.getResource();
        }
        j.set(prefix + i, "v");
        acked.add(prefix + i);
      } catch (RuntimeException e) {
        errors++;
        refused += refused(e);
        release(held, j);
        j = null;
      }
    }
    release(held, j);
    return new Writes(HELD_SETS - errors, 0, errors, refused);
  }

  private static void release(Borrowed held, Jedis j) {
    if (j == held.jedis) {
      held.close();
    } else {
      closeQuietly(j);
    }
  }

  /** A pipeline (synced) or a transaction (executed) of {@code n} SETs on a connection borrowed before the fault. */
  private static Writes batch(Borrowed b, boolean transaction, int n, String prefix, List<String> acked) {
    try {
      PipeliningBase batch = transaction ? b.jedis.multi() : b.jedis.pipelined();
      List<Response<String>> answers = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        answers.add(batch.set(prefix + i, "v"));
      }
      if (batch instanceof Transaction tx) {
        tx.exec();
      } else {
        ((Pipeline) batch).sync();
      }
      return answered(answers, prefix, acked);
    } catch (RuntimeException e) {
      return new Writes(0, 0, 1, refused(e));
    } finally {
      b.close();
    }
  }

  private static Writes answered(List<Response<String>> answers, String prefix, List<String> acked) {
    int ok = 0;
    for (int i = 0; i < answers.size(); i++) {
      try {
        if ("OK".equals(answers.get(i).get())) {
          acked.add(prefix + i);
          ok++;
        }
      } catch (RuntimeException e) {
        // an error reply for this one
      }
    }
    return new Writes(ok, 0, answers.size() - ok, 0);
  }

  private static int refused(RuntimeException e) {
    return e instanceof MasterChangedException m && !m.mayHaveRun() ? 1 : 0;
  }

  private static Writes withLost(Writes w, String prefix, Set<String> missing) {
    int lost = (int) missing.stream().filter(k -> k.startsWith(prefix)).count();
    return new Writes(w.acked(), lost, w.errors(), w.refused());
  }

  private static void closeQuietly(Jedis j) {
    if (j != null) {
      try {
        j.close();
      } catch (RuntimeException e) {
        // a Jedis in a pipeline or transaction tries to finish it on close: its connection is gone
      }
    }
  }

  /**
   * Pushes the element the consumer waits for straight to the new master, the moment it is promoted;
   * returns when the RPUSH that succeeded was sent (the consumer may pop it before this thread reads the reply).
   */
  private static long push(RedisHaTopology t, RedisProcess next, String queue) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (true) {
      try (Jedis j = t.connect(next)) {
        long sentAt = System.nanoTime();
        j.rpush(queue, "element");
        return sentAt;
      } catch (RuntimeException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        TimeUnit.MILLISECONDS.sleep(1); // Sentinel's CLIENT KILL on the promoted replica
      }
    }
  }

  private static boolean subscribedOn(RedisHaTopology t, RedisProcess node, List<String> channels) {
    try (Jedis j = t.connect(node)) {
      return j.pubsubNumSub(channels.toArray(String[]::new)).values().stream().allMatch(n -> n > 0);
    }
  }

  private static void awaitTrue(Duration limit, String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("not within " + limit + ": " + what);
      }
      TimeUnit.MILLISECONDS.sleep(10);
    }
  }

  private static void sleepUntil(long nanos) throws InterruptedException {
    long left = nanos - System.nanoTime();
    if (left > 0) {
      TimeUnit.NANOSECONDS.sleep(left);
    }
  }

  private static void pause() {
    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(RETRY_PAUSE_MS));
  }

  /** Closes the connection under a thread blocked in a read on it, until the thread ends. */
  private static void cutUntilEnded(Thread thread, Supplier<Jedis> current) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (thread.isAlive() && System.nanoTime() < deadline) {
      Jedis j = current.get();
      if (j != null) {
        try {
          j.getConnection().disconnect();
        } catch (RuntimeException e) {
          // already closed
        }
      }
      try {
        thread.join(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /**
   * The loop an application writes without help, the same on every pool: borrow a connection, use it
   * until that returns or throws, borrow again at once ({@value #RETRY_PAUSE_MS} ms later after a
   * failed borrow).
   */
  private static final class PlainLoop implements Closer {
    private volatile Jedis current;
    private volatile boolean stop;
    private final Thread thread;

    PlainLoop(String name, Pool<Jedis> pool, Consumer<Jedis> use) {
      thread = new Thread(() -> {
        while (!stop) {
          Jedis j;
          try {
            j = pool.getResource();
          } catch (RuntimeException e) {
            pause();
            continue;
          }
          try (j) {
            current = j;
            if (stop) {
              return;
            }
            use.accept(j);
          } catch (RuntimeException e) {
            // the connection broke or was cut: borrow again at once
          } finally {
            current = null;
          }
        }
      }, name);
      thread.setDaemon(true);
      thread.start();
    }

    @Override
    public void close() {
      stop = true;
      cutUntilEnded(thread, () -> current);
    }
  }

  /** {@code BLPOP 0} in a {@link PlainLoop}. */
  private static final class BlockingConsumer implements Closer {
    final AtomicLong poppedAt = new AtomicLong();
    final AtomicInteger pops = new AtomicInteger();
    private final PlainLoop loop;

    BlockingConsumer(Pool<Jedis> pool, String queue) {
      loop = new PlainLoop("bench-blpop", pool, j -> {
        if (j.blpop(0, queue) != null) {
          pops.incrementAndGet();
          poppedAt.compareAndSet(0, System.nanoTime());
        }
      });
    }

    @Override
    public void close() {
      loop.close();
    }
  }

  /** A subscriber recording each sequence number with the time it arrived. */
  private static final class Subscriber implements Closer {
    final String channel;
    final ConcurrentLinkedQueue<long[]> received = new ConcurrentLinkedQueue<>();
    final JedisPubSub pubSub = new JedisPubSub() {
      @Override
      public void onMessage(String ch, String message) {
        received.add(new long[] {Long.parseLong(message), System.nanoTime()});
      }
    };
    private FailoverSubscription following;
    private PlainLoop plain;

    private Subscriber(String channel) {
      this.channel = channel;
    }

    static Subscriber following(FailoverJedisPool pool, String channel) {
      Subscriber s = new Subscriber(channel);
      s.following = pool.subscribe(s.pubSub, channel);
      return s;
    }

    /** Subscribes on a pooled Jedis in a {@link PlainLoop}: again when that returns or throws. */
    static Subscriber plain(Pool<Jedis> pool, String channel) {
      Subscriber s = new Subscriber(channel);
      s.plain = new PlainLoop("bench-subscriber", pool, j -> j.subscribe(s.pubSub, channel));
      return s;
    }

    PubSub summary(String label, Map<Long, Long> published, long promotedAt, long onNewAt, long faultAt, long stoppedAt,
        long onFinalMaster) {
      Map<Long, Integer> counts = new HashMap<>();
      List<Long> times = new ArrayList<>();
      long firstOnNew = 0;
      for (long[] m : received) {
        counts.merge(m[0], 1, Integer::sum);
        if (m[1] >= faultAt && m[1] <= stoppedAt) {
          times.add(m[1]);
        }
        if (onNewAt != 0 && m[1] >= onNewAt && firstOnNew == 0) {
          firstOnNew = m[1];
        }
      }
      List<Long> lost = published.entrySet().stream().filter(e -> !counts.containsKey(e.getKey())).map(Map.Entry::getValue).sorted()
          .toList();
      int lostAfter = (int) lost.stream().filter(at -> onNewAt != 0 && at > onNewAt).count();
      int duplicates = counts.values().stream().mapToInt(c -> c - 1).sum();
      times.add(faultAt);
      times.add(stoppedAt);
      times.sort(null);
      long silence = 0;
      for (int i = 1; i < times.size(); i++) {
        silence = Math.max(silence, times.get(i) - times.get(i - 1));
      }
      return new PubSub(label, published.size(), lost.size(), lostAfter, duplicates, onNewAt == 0 ? Double.NaN : (onNewAt - promotedAt) / 1e6,
          firstOnNew == 0 ? Double.NaN : (firstOnNew - promotedAt) / 1e6, silence / 1e6, onFinalMaster,
          lost.stream().map(at -> (at - promotedAt) / 1e6).toList());
    }

    @Override
    public void close() {
      if (following != null) {
        following.close();
        return;
      }
      plain.close(); // cuts the connection under subscribe(), which then throws and the loop ends
    }
  }

  /** A sequence number every 20 ms to every channel, through the pool; per channel, when each PUBLISH was acknowledged. */
  private static final class Publisher implements Closer {
    final Map<String, Map<Long, Long>> published = new ConcurrentHashMap<>();
    private volatile boolean stop;
    private final Thread thread;

    Publisher(Pool<Jedis> pool, List<String> channels) {
      channels.forEach(c -> published.put(c, new ConcurrentHashMap<>()));
      thread = new Thread(() -> {
        for (long n = 0; !stop; n++) {
          try (Jedis j = pool.getResource()) {
            for (String channel : channels) {
              try {
                j.publish(channel, Long.toString(n));
                published.get(channel).put(n, System.nanoTime());
              } catch (RuntimeException e) {
                // not published: not counted
              }
            }
          } catch (RuntimeException e) {
            // no connection: not published
          }
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(PUBLISH_EVERY_MS));
        }
      }, "bench-publisher");
      thread.setDaemon(true);
      thread.start();
    }

    /** Stops publishing; returns when the last PUBLISH was answered. */
    long stop() throws InterruptedException {
      stop = true;
      thread.join(10_000);
      return System.nanoTime();
    }

    @Override
    public void close() {
      stop = true;
    }
  }

  /**
   * The old master after a SENTINEL FAILOVER: an observer subscribed there (straight, not through
   * the client) to the client's first channel counts the messages the old master delivered after the
   * promotion, that is the client's PUBLISHes it took, until it stops answering {@code ROLE} master
   * (polled every 5 ms; once a replica, it would also deliver what its new master replicates to it).
   * A separate channel from Sentinel's hello messages, which INFO commandstats would count too.
   */
  private static final class OldMasterWatch implements Closer {
    private final Jedis role;
    private final Jedis observer;
    private final ConcurrentLinkedQueue<Long> delivered = new ConcurrentLinkedQueue<>();
    private final JedisPubSub pubSub = new JedisPubSub() {
      @Override
      public void onMessage(String channel, String message) {
        delivered.add(System.nanoTime());
      }
    };
    private final Thread subscriber;
    private volatile long demotedAt;
    private volatile boolean stop;
    private Thread poller;

    /** Subscribes the observer; returns once the old master counts it. */
    OldMasterWatch(RedisHaTopology t, RedisProcess old, String channel) throws InterruptedException {
      role = t.connect(old); // before the fault: no connect in the measured path
      observer = t.connect(old);
      subscriber = new Thread(() -> {
        try {
          observer.subscribe(pubSub, channel);
        } catch (RuntimeException e) {
          // closed: by Sentinel as it demotes the node, or at the end
        }
      }, "bench-old-master-observer");
      subscriber.setDaemon(true);
      subscriber.start();
      awaitTrue(Duration.ofSeconds(5), "the observer subscribed on " + old, pubSub::isSubscribed);
    }

    void start(long until) {
      poller = new Thread(() -> {
        try {
          while (!stop && System.nanoTime() < until) {
            if (!"master".equals(String.valueOf(role.role().get(0)))) {
              demotedAt = System.nanoTime();
              return;
            }
            LockSupport.parkNanos(5_000_000);
          }
        } catch (RuntimeException e) {
          demotedAt = System.nanoTime(); // Sentinel's CLIENT KILL as it demotes the node
        }
      }, "bench-old-master-role");
      poller.setDaemon(true);
      poller.start();
    }

    OldMaster result(long promotedAt) {
      long until = demotedAt == 0 ? Long.MAX_VALUE : demotedAt;
      long took = delivered.stream().filter(at -> at > promotedAt && at < until).count();
      return new OldMaster(demotedAt == 0 ? Double.NaN : (demotedAt - promotedAt) / 1e6, took);
    }

    @Override
    public void close() {
      stop = true;
      try {
        if (pubSub.isSubscribed()) {
          pubSub.unsubscribe();
        }
      } catch (RuntimeException e) {
        // its connection is gone
      }
      observer.close();
      role.close();
    }
  }

  /** Polls {@code PUBSUB NUMSUB} on the new master every millisecond: when each channel first has a subscriber there. */
  private static final class SubscriptionWatch implements Closer {
    private final Map<String, Long> firstSeen = new ConcurrentHashMap<>();
    private volatile boolean stop;
    private final Thread thread;

    SubscriptionWatch(RedisHaTopology t, RedisProcess node, List<String> channels, long until) {
      thread = new Thread(() -> {
        while (!stop && System.nanoTime() < until && firstSeen.size() < channels.size()) {
          try (Jedis j = t.connect(node)) {
            while (!stop && System.nanoTime() < until && firstSeen.size() < channels.size()) {
              Map<String, Long> n = j.pubsubNumSub(channels.toArray(String[]::new));
              long now = System.nanoTime();
              n.forEach((c, count) -> {
                if (count > 0) {
                  firstSeen.putIfAbsent(c, now);
                }
              });
              LockSupport.parkNanos(1_000_000);
            }
          } catch (RuntimeException e) {
            LockSupport.parkNanos(1_000_000); // Sentinel's CLIENT KILL: connect again
          }
        }
      }, "bench-numsub-watch");
      thread.setDaemon(true);
      thread.start();
    }

    /** The nanoTime at which {@code channel} was first seen subscribed on the node, 0 for never. */
    long firstSeen(String channel) {
      return firstSeen.getOrDefault(channel, 0L);
    }

    @Override
    public void close() {
      stop = true;
    }
  }
}
