package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPubSub;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.Transaction;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.params.XReadParams;
import redis.clients.jedis.resps.StreamEntry;

/**
 * The ways applications use a connection, each through a real failover: a {@code Jedis} held across
 * the switch (idle, or writing in a loop), a pipeline and a transaction spanning it, blocking
 * commands ({@code BLPOP 0}, {@code XREAD BLOCK 0}) waiting while the master changes, a subscriber,
 * and scripts. Each asserts that nothing acknowledged is lost and that nothing waits on the demoted
 * master. Times are printed, never asserted (beyond generous bounds that say "not forever").
 */
class FailoverUsagePatternsIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create(b -> b.labelLag(Duration.ofSeconds(1)));

  private static final Duration SWITCH = Duration.ofSeconds(20);

  /** A planned failover, returned once the discovery has announced the new master. */
  private static RedisProcess failOverAndAwaitSwitch(RedisHaTopology t, ChangeRecorder changes, RedisProcess old) throws InterruptedException {
    t.failover();
    RedisProcess next = MasterDiscoveryIT.awaitNewMaster(t, old);
    changes.nextTo(next.address(), SWITCH.toSeconds());
    return next;
  }

  private static FailoverJedisPool pool(MasterDiscovery d, RedisHaTopology t) {
    return new FailoverJedisPool(d, FailoverJedisPoolIT.poolConfig(), t.clientConfig());
  }

  @Test
  void aJedisHeldByAWriterLoopLosesNoAcknowledgedWriteThroughSentinelFailover() throws Exception {
    RedisHaTopology t = ha.topology();
    t.awaitHealthy(Duration.ofSeconds(60));
    ChangeRecorder changes = new ChangeRecorder();
    try (MasterDiscovery d = FailoverJedisPoolIT.discovery(t, changes); FailoverJedisPool pool = pool(d, t)) {
      d.awaitMaster(Duration.ofSeconds(10));
      ConcurrentLinkedQueue<String> acked = new ConcurrentLinkedQueue<>();
      ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
      AtomicBoolean stop = new AtomicBoolean();
      Thread writer = new Thread(() -> { // keeps one Jedis until it fails, as batch loops do
        Jedis jedis = null;
        for (long n = 0; !stop.get(); n++) {
          try {
            if (jedis == null) {
              jedis = pool.getResource();
            }
            jedis.set("loop:" + n, "v");
            acked.add("loop:" + n);
          } catch (RuntimeException e) {
            errors.add(e.getClass().getSimpleName() + ": " + e.getMessage());
            if (jedis != null) {
              jedis.close();
              jedis = null;
            }
          }
          LockSupport.parkNanos(2_000_000);
        }
        if (jedis != null) {
          jedis.close();
        }
      }, "held-writer");
      writer.start();
      try {
        await().atMost(Duration.ofSeconds(5)).until(() -> acked.size() > 100);
        RedisProcess master = t.awaitHealthy(Duration.ofSeconds(60));
        failOverAndAwaitSwitch(t, changes, master); // SENTINEL FAILOVER
        int before = acked.size();
        await().atMost(Duration.ofSeconds(10)).until(() -> acked.size() > before + 200);
      } finally {
        stop.set(true);
        writer.join(15_000);
      }
      assertThat(writer.isAlive()).isFalse();
      RedisProcess last = t.awaitHealthy(Duration.ofSeconds(60));
      try (Jedis j = t.connect(last)) {
        List<String> missing = acked.stream().filter(k -> !j.exists(k)).toList();
        assertThat(missing).as("acknowledged writes missing from the final master (errors: %s)", errors).isEmpty();
      }
      System.out.printf("held writer: %d acknowledged, %d errors surfaced (%s), stats %s%n", acked.size(), errors.size(),
          errors.stream().limit(3).toList(), pool.failoverStats());
    }
  }

  @Test
  void aHeldJedisAPipelineAndATransactionSpanningTheSwitchNeverWriteToTheDemotedMaster() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess old = t.awaitHealthy(Duration.ofSeconds(60));
    ChangeRecorder changes = new ChangeRecorder();
    try (MasterDiscovery d = FailoverJedisPoolIT.discovery(t, changes); FailoverJedisPool pool = pool(d, t)) {
      d.awaitMaster(Duration.ofSeconds(10));
      Jedis held = pool.getResource();
      held.set("held:before", "v");
      Jedis forPipeline = pool.getResource();
      Jedis forMulti = pool.getResource();
      Jedis forLaterPipeline = pool.getResource();
      Pipeline pipeline = forPipeline.pipelined();
      for (int i = 0; i < 50; i++) {
        pipeline.set("pipe:" + i, "v"); // buffered, unanswered at the switch
      }
      Transaction multi = forMulti.multi();
      for (int i = 0; i < 5; i++) {
        multi.set("multi:" + i, "v");
      }
      failOverAndAwaitSwitch(t, changes, old);

      // The repro: 20 SETs on a Jedis held idle across the switch were all acknowledged by the old master, and lost.
      assertThatThrownBy(() -> held.set("held:0", "v"))
          .isInstanceOfSatisfying(MasterChangedException.class, e -> assertThat(e.mayHaveRun()).isFalse())
          .hasMessageContaining("command not sent to " + old.address());
      held.close(); // broken: destroyed, not pooled
      List<String> acked = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        try (Jedis j = pool.getResource()) {
          j.set("held:" + i, "v");
          acked.add("held:" + i);
        }
      }
      assertThatThrownBy(() -> pipeline.set("pipe:50", "v")).isInstanceOfSatisfying(MasterChangedException.class,
          e -> assertThat(e.mayHaveRun()).as(e.getMessage()).isTrue());
      assertThatThrownBy(() -> multi.set("multi:5", "v")).isInstanceOfSatisfying(MasterChangedException.class,
          e -> assertThat(e.mayHaveRun()).as(e.getMessage()).isFalse()).hasMessageContaining("nothing of it ran");
      // The repro: a whole pipeline of 100 SETs sent after the switch on a connection borrowed before it.
      Pipeline later = forLaterPipeline.pipelined();
      assertThatThrownBy(() -> later.set("later:0", "v")).isInstanceOfSatisfying(MasterChangedException.class,
          e -> assertThat(e.mayHaveRun()).isFalse());
      for (Jedis j : List.of(forPipeline, forMulti, forLaterPipeline)) {
        try {
          j.close();
        } catch (RuntimeException expected) {
          // a Jedis in a pipeline or transaction tries to finish it on close: its connection is gone
        }
      }
      assertThat(pool.failoverStats().refusedSends()).as("the held Jedis and the later pipeline").isGreaterThanOrEqualTo(2);
      assertThat(pool.getNumActive()).isZero();

      RedisProcess master = t.awaitHealthy(Duration.ofSeconds(60));
      try (Jedis j = t.connect(master)) {
        for (int i = 0; i < 5; i++) {
          assertThat(j.exists("multi:" + i)).as("a transaction without EXEC never ran").isFalse();
        }
        assertThat(j.exists("later:0")).isFalse();
        assertThat(acked).as("every acknowledged write is on the final master").allSatisfy(k -> assertThat(j.exists(k)).isTrue());
      }
      // And the same work done again on fresh connections lands whole.
      try (Jedis j = pool.getResource()) {
        Pipeline p = j.pipelined();
        for (int i = 0; i < 100; i++) {
          p.set("again:" + i, "v");
        }
        p.sync();
        Transaction tx = j.multi();
        tx.set("again:tx", "v");
        assertThat(tx.exec()).hasSize(1);
      }
      try (Jedis j = t.connect(master)) {
        for (int i = 0; i < 100; i++) {
          assertThat(j.exists("again:" + i)).isTrue();
        }
      }
    }
  }

  /**
   * The race the pool's ordering allows: a command passes the gate just before the switch, and the
   * pool closes its connection before it is written. Jedis would reconnect a closed connection on its
   * next write, to the old master; a pooled connection must stay closed instead.
   */
  @Test
  void aConnectionClosedAtTheSwitchJustAfterItsGateNeverReopensToTheOldMaster() {
    RedisHaTopology t = ha.topology();
    RedisProcess master = t.awaitHealthy(Duration.ofSeconds(60));
    FollowingConnection.Gate switchLandsNow = new FollowingConnection.Gate() {
      @Override
      public void beforeSend(FollowingConnection connection) {
        connection.cut("connection to " + connection.node() + " closed: the master changed (test)"); // then lets it send
      }

      @Override
      public void demoted() {}
    };
    FollowingConnection connection = new FollowingConnection(master.address(), t.clientConfig(), switchLandsNow, 1);
    assertThatThrownBy(() -> connection.sendCommand(new redis.clients.jedis.CommandArguments(redis.clients.jedis.Protocol.Command.SET)
        .add("cut:key").add("v"))).isInstanceOfSatisfying(MasterChangedException.class, e -> assertThat(e.mayHaveRun()).isFalse())
        .hasMessageContaining("never reopened");
    assertThatThrownBy(connection::setTimeoutInfinite).as("a blocking command's setup does not reconnect either")
        .isInstanceOf(MasterChangedException.class);
    assertThat(connection.isBroken()).isTrue();
    try (Jedis j = t.connect(master)) {
      assertThat(j.exists("cut:key")).as("nothing reached the old master").isFalse();
    }
  }

  /** A consumer that pops with {@code BLPOP 0} (or reads with {@code XREAD BLOCK 0}), borrowing again when the master changes. */
  private static final class BlockingConsumer implements AutoCloseable {
    final BlockingQueue<String> received = new LinkedBlockingQueue<>();
    final List<Throwable> errors = new CopyOnWriteArrayList<>();
    final AtomicLong unblockedAt = new AtomicLong();
    final AtomicReference<Jedis> current = new AtomicReference<>();
    final AtomicBoolean stop = new AtomicBoolean();
    final Thread thread;

    BlockingConsumer(FailoverJedisPool pool, boolean stream) {
      thread = new Thread(() -> {
        while (!stop.get()) {
          try (Jedis j = pool.getResource()) {
            current.set(j);
            if (stream) {
              List<Map.Entry<String, List<StreamEntry>>> got = j.xread(XReadParams.xReadParams().block(0).count(1),
                  Map.of("stream", StreamEntryID.XREAD_NEW_ENTRY));
              if (got != null) {
                got.forEach(e -> e.getValue().forEach(entry -> received.add(entry.getFields().get("v"))));
              }
            } else {
              List<String> got = j.blpop(0, "queue");
              if (got != null) {
                received.add(got.get(1));
              }
            }
          } catch (MasterChangedException e) {
            unblockedAt.compareAndSet(0, System.nanoTime());
            errors.add(e);
          } catch (RuntimeException e) {
            errors.add(e);
            if (!stop.get()) {
              LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
            }
          }
        }
      }, stream ? "xread-consumer" : "blpop-consumer");
      thread.setDaemon(true);
      thread.start();
    }

    @Override
    public void close() throws InterruptedException {
      stop.set(true);
      Jedis j = current.get();
      if (j != null) {
        ((FollowingConnection) j.getConnection()).cut("test over");
      }
      thread.join(10_000);
    }
  }

  @Test
  void blpopAndXreadBlockedOnTheOldMasterMoveToTheNewOneAtTheSwitch() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess old = t.awaitHealthy(Duration.ofSeconds(60));
    ChangeRecorder changes = new ChangeRecorder();
    try (MasterDiscovery d = FailoverJedisPoolIT.discovery(t, changes); FailoverJedisPool pool = pool(d, t);
        BlockingConsumer list = new BlockingConsumer(pool, false); BlockingConsumer stream = new BlockingConsumer(pool, true)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> t.blockedClients(old) == 2);
      t.failover();
      RedisProcess next = MasterDiscoveryIT.awaitNewMaster(t, old);
      ChangeRecorder.Change switched = changes.nextTo(next.address(), SWITCH.toSeconds());
      // Before: still blocked on the demoted master 5 s after an element was pushed to the new one.
      await().atMost(Duration.ofSeconds(10)).until(() -> t.blockedClients(next) == 2);
      try (Jedis j = pool.getResource()) {
        j.rpush("queue", "element");
        j.xadd("stream", StreamEntryID.NEW_ENTRY, Map.of("v", "entry"));
      }
      assertThat(list.received.poll(10, TimeUnit.SECONDS)).isEqualTo("element");
      assertThat(stream.received.poll(10, TimeUnit.SECONDS)).isEqualTo("entry");
      assertThat(list.errors).as("exactly one interruption, at the switch").hasSize(1)
          .allSatisfy(e -> assertThat(((MasterChangedException) e).mayHaveRun()).isTrue());
      assertThat(stream.errors).hasSize(1);
      System.out.printf("BLPOP unblocked %d ms after the switch was announced, XREAD %d ms%n",
          (list.unblockedAt.get() - switched.atNanos()) / 1_000_000, (stream.unblockedAt.get() - switched.atNanos()) / 1_000_000);
      try (Jedis j = t.connect(next)) {
        assertThat(j.llen("queue")).as("popped exactly once").isZero();
      }
      assertThat(list.received).isEmpty();
      assertThat(pool.failoverStats().cutConnections()).isEqualTo(2);
    }
  }

  /**
   * The same promise when the discovery learns of the failover from a label move alone (no Sentinel
   * source: an operator or a chart's sidecar relabels the pods, here one second after the promotion).
   */
  @Test
  void aHeldJedisAPipelineAndABlpopFollowAFailoverSeenThroughTheLabelsAlone() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess old = t.awaitHealthy(Duration.ofSeconds(60));
    ChangeRecorder changes = new ChangeRecorder();
    try (MasterDiscovery d = TestDiscoveries.labels(t).clientConfig(t.clientConfig()).listener(changes).build();
        FailoverJedisPool pool = pool(d, t)) {
      d.awaitMaster(Duration.ofSeconds(10));
      Jedis held = pool.getResource();
      held.set("label:before", "v");
      Jedis forPipeline = pool.getResource();
      Pipeline pipeline = forPipeline.pipelined();
      for (int i = 0; i < 50; i++) {
        pipeline.set("label:pipe:" + i, "v");
      }
      try (BlockingConsumer list = new BlockingConsumer(pool, false)) {
        await().atMost(Duration.ofSeconds(10)).until(() -> t.blockedClients(old) == 1);
        t.failover();
        RedisProcess next = MasterDiscoveryIT.awaitNewMaster(t, old);
        await().atMost(Duration.ofSeconds(10)).until(() -> next.address().equals(t.labels().appliedMaster()));
        changes.nextTo(next.address(), SWITCH.toSeconds());

        assertThatThrownBy(() -> held.set("label:held", "v"))
            .isInstanceOfSatisfying(MasterChangedException.class, e -> assertThat(e.mayHaveRun()).isFalse());
        held.close();
        assertThatThrownBy(() -> pipeline.set("label:pipe:50", "v")).isInstanceOf(MasterChangedException.class);
        try {
          forPipeline.close();
        } catch (RuntimeException expected) {
          // the pipeline's connection is gone
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> t.blockedClients(next) == 1);
        List<String> acked = new ArrayList<>();
        try (Jedis j = pool.getResource()) {
          for (int i = 0; i < 20; i++) {
            j.set("label:after:" + i, "v");
            acked.add("label:after:" + i);
          }
          j.rpush("queue", "element");
        }
        assertThat(list.received.poll(10, TimeUnit.SECONDS)).isEqualTo("element");
        assertThat(list.errors).as("one interruption, at the switch").hasSize(1);
        RedisProcess master = t.awaitHealthy(Duration.ofSeconds(60));
        try (Jedis j = t.connect(master)) {
          assertThat(acked).as("every acknowledged write is on the final master").allSatisfy(k -> assertThat(j.exists(k)).isTrue());
          assertThat(j.exists("label:held")).isFalse();
          assertThat(j.llen("queue")).as("popped exactly once").isZero();
        }
        assertThat(list.received).isEmpty();
      }
    }
  }

  /** Records every message with its sequence number. */
  private static final class Recorder extends JedisPubSub {
    final List<Long> seen = new CopyOnWriteArrayList<>();

    @Override
    public void onMessage(String channel, String message) {
      seen.add(Long.parseLong(message));
    }
  }

  @Test
  void aSubscriptionFollowsTheMasterThroughKillMinus9ThenSentinelFailoverExactlyOnce() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess first = t.awaitHealthy(Duration.ofSeconds(60));
    ChangeRecorder changes = new ChangeRecorder();
    try (MasterDiscovery d = FailoverJedisPoolIT.discovery(t, changes); FailoverJedisPool pool = pool(d, t)) {
      d.awaitMaster(Duration.ofSeconds(10));
      Recorder recorder = new Recorder();
      Recorder plain = new Recorder();
      AtomicReference<Throwable> plainEnded = new AtomicReference<>();
      Thread plainThread = new Thread(() -> { // a JedisPubSub on a pooled connection, without FailoverSubscription
        try (Jedis j = pool.getResource()) {
          j.subscribe(plain, "events");
        } catch (Throwable e) {
          plainEnded.set(e);
        }
      }, "plain-subscriber");
      plainThread.start();
      AtomicLong seq = new AtomicLong();
      AtomicLong slowest = new AtomicLong();
      AtomicBoolean stop = new AtomicBoolean();
      Thread publisher = new Thread(() -> {
        while (!stop.get()) {
          long start = System.nanoTime();
          try (Jedis j = pool.getResource()) {
            j.publish("events", Long.toString(seq.get()));
            seq.incrementAndGet();
          } catch (RuntimeException e) {
            // a publish during a failover: not counted as published
          }
          slowest.accumulateAndGet(System.nanoTime() - start, Math::max);
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
      }, "publisher");
      try (FailoverSubscription sub = pool.subscribe(recorder, "events")) {
        await().atMost(Duration.ofSeconds(10)).until(() -> t.subscribers(first, "events") == 2);
        publisher.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> recorder.seen.size() > 20);

        // kill -9 of the master
        first.kill();
        RedisProcess second = MasterDiscoveryIT.awaitNewMaster(t, first);
        changes.nextTo(second.address(), SWITCH.toSeconds());
        await().atMost(Duration.ofSeconds(10)).until(() -> sub.resubscriptions() == 1 && t.subscribers(second, "events") == 1);
        assertDeliveredOnceFromNowOn(recorder, seq);
        plainThread.join(10_000);
        assertThat(plainEnded.get()).as("a plain subscription ends with an exception instead of hanging")
            .isInstanceOf(JedisConnectionException.class);
        first.start();
        // Sentinel sometimes fails over once more by itself while the restarted node resyncs: go on from whichever node is master.
        RedisProcess master = t.awaitHealthy(Duration.ofSeconds(60));
        await().atMost(Duration.ofSeconds(10)).until(() -> d.snapshot().master().filter(master.address()::equals).isPresent()
            && t.subscribers(master, "events") == 1);
        long resubscribed = sub.resubscriptions();

        // then SENTINEL FAILOVER
        RedisProcess third = failOverAndAwaitSwitch(t, changes, master);
        await().atMost(Duration.ofSeconds(10)).until(() -> sub.resubscriptions() == resubscribed + 1 && t.subscribers(third, "events") == 1);
        System.out.printf("subscription gap at SENTINEL FAILOVER: %s (after kill -9 it was measured from the kill)%n", sub.lastGap());
        assertDeliveredOnceFromNowOn(recorder, seq);
        assertThat(t.subscribers(third, "events")).as("one subscription on the master").isEqualTo(1);
      } finally {
        stop.set(true);
        publisher.join(10_000);
      }
      List<Long> duplicates = recorder.seen.stream().filter(n -> recorder.seen.indexOf(n) != recorder.seen.lastIndexOf(n)).toList();
      assertThat(duplicates).as("no message delivered twice").isEmpty();
      assertThat(slowest.get()).as("no publish slower than the pool's maxWait").isLessThan(TimeUnit.SECONDS.toNanos(6));
    }
  }

  /** Every message published from now on (the next 20) is received, once. */
  private static void assertDeliveredOnceFromNowOn(Recorder recorder, AtomicLong seq) {
    long from = seq.get() + 1;
    await().atMost(Duration.ofSeconds(10)).until(() -> seq.get() > from + 20);
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      for (long n = from; n < from + 20; n++) {
        assertThat(recorder.seen).contains(n);
      }
    });
  }

  @Test
  void evalshaAfterAFailoverSaysNoscriptAndIsNotRetried() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess old = t.awaitHealthy(Duration.ofSeconds(60));
    ChangeRecorder changes = new ChangeRecorder();
    try (MasterDiscovery d = FailoverJedisPoolIT.discovery(t, changes); FailoverJedisPool pool = pool(d, t)) {
      d.awaitMaster(Duration.ofSeconds(10));
      String sha = pool.execute(j -> j.scriptLoad("return redis.call('INCR', KEYS[1])"));
      Object first = pool.execute(j -> j.evalsha(sha, 1, "counter"));
      assertThat(first).isEqualTo(1L);
      failOverAndAwaitSwitch(t, changes, old);
      // Each node has its own script cache: the promoted replica never saw SCRIPT LOAD.
      assertThatThrownBy(() -> pool.execute(j -> j.evalsha(sha, 1, "counter")))
          .isInstanceOf(JedisDataException.class).hasMessageStartingWith("NOSCRIPT");
      Object viaEval = pool.execute(j -> j.eval("return redis.call('INCR', KEYS[1])", 1, "counter"));
      assertThat(viaEval).as("EVAL carries the script: it runs, and loads it on the new master").isEqualTo(2L);
      Object again = pool.execute(j -> j.evalsha(sha, 1, "counter"));
      assertThat(again).isEqualTo(3L);
    }
  }
}
