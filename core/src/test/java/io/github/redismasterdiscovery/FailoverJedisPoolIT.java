package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.redismasterdiscovery.testkit.PromotionWatch;
import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPool;

/** FailoverJedisPool through real failovers. Times are printed, never asserted. */
class FailoverJedisPoolIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create(b -> b.labelLag(Duration.ofSeconds(1)));

  static MasterDiscovery discovery(RedisHaTopology t, MasterListener listener) {
    return TestDiscoveries.labelsAndSentinels(t)
        .clientConfig(t.clientConfig())
        .listener(listener)
        .build();
  }

  static GenericObjectPoolConfig<Jedis> poolConfig() {
    GenericObjectPoolConfig<Jedis> c = new GenericObjectPoolConfig<>();
    c.setMaxTotal(16);
    c.setMaxWait(Duration.ofSeconds(5));
    return c;
  }

  /** Runs {@code writers} threads calling {@code write} with unique keys, about every 2 ms each, until stopped. */
  static final class Writers {
    final AtomicBoolean stop = new AtomicBoolean();
    final List<Thread> threads = new ArrayList<>();

    Writers(int writers, Consumer<String> write) {
      for (int w = 0; w < writers; w++) {
        int id = w;
        Thread th = new Thread(() -> {
          for (long n = 0; !stop.get(); n++) {
            write.accept("w" + id + ":" + n);
            LockSupport.parkNanos(2_000_000);
          }
        }, "writer-" + w);
        th.start();
        threads.add(th);
      }
    }

    void stopAndJoin() throws InterruptedException {
      stop.set(true);
      for (Thread th : threads) {
        th.join(15_000);
        assertThat(th.isAlive()).as("%s stuck", th.getName()).isFalse();
      }
    }
  }

  @Test
  void eightWritersThroughKillMinus9() throws Exception {
    RedisHaTopology t = ha.topology();
    ChangeRecorder changes = new ChangeRecorder();
    WriteLog log = new WriteLog();
    try (MasterDiscovery d = discovery(t, changes); FailoverJedisPool pool = new FailoverJedisPool(d, poolConfig(), t.clientConfig())) {
      RedisProcess old = t.node(0);
      d.awaitMaster(Duration.ofSeconds(10));
      Writers writers = new Writers(8, log.setsThrough(pool));
      await().atMost(Duration.ofSeconds(5)).until(() -> log.acks.size() > 200);
      PromotionWatch watch = PromotionWatch.start(t, t.replicasOf(old), Duration.ofSeconds(15));
      long killedAt = System.nanoTime();
      old.kill();
      RedisProcess next = MasterDiscoveryIT.awaitNewMaster(t, old);
      ChangeRecorder.Change switched = changes.nextTo(next.address(), 15);
      long promotedAt = watch.promotedAtNanos(Duration.ofSeconds(15));
      int before = log.ackedAfter(switched.atNanos()).size();
      await().atMost(Duration.ofSeconds(10)).until(() -> log.ackedAfter(switched.atNanos()).size() > before + 500);
      writers.stopAndJoin();

      List<WriteLog.Ack> afterSwitch = log.startedAfter(switched.atNanos());
      assertThat(afterSwitch).as("every write begun after the switch went to the new master").isNotEmpty()
          .allSatisfy(a -> assertThat(a.node()).isEqualTo(next.address()));
      List<WriteLog.Ack> onNew = log.acks.stream().filter(a -> next.address().equals(a.node())).collect(java.util.stream.Collectors.toList());
      assertThat(WriteLog.missing(t, next, onNew)).as("everything the new master acknowledged is on it").isEmpty();
      List<WriteLog.Ack> afterKill = log.ackedAfter(killedAt);
      await().atMost(Duration.ofSeconds(5)).until(() -> pool.getNumActive() == 0);
      assertThat(pool.failoverStats().failovers()).isEqualTo(1);
      long firstOnNew = onNew.stream().mapToLong(WriteLog.Ack::atNanos).min().orElseThrow();
      List<WriteLog.Ack> beforeKill = new ArrayList<>(log.acks);
      beforeKill.removeAll(afterKill);
      System.out.printf("kill -9 with 8 writers: first write on the new master %d ms after promotion, %d ms after kill; "
              + "%d errors surfaced of %d calls; %d of %d writes acknowledged before the kill lost to async replication; stats %s%n",
          (firstOnNew - promotedAt) / 1_000_000, (firstOnNew - killedAt) / 1_000_000, log.errors.size(), log.attempts.get(),
          WriteLog.missing(t, next, beforeKill).size(), beforeKill.size(), pool.failoverStats());
    }
  }

  @Test
  void aConnectionBorrowedAcrossAFailoverIsDiscardedOnReturn() throws Exception {
    RedisHaTopology t = ha.topology();
    ChangeRecorder changes = new ChangeRecorder();
    try (MasterDiscovery d = discovery(t, changes); FailoverJedisPool pool = new FailoverJedisPool(d, poolConfig(), t.clientConfig())) {
      d.awaitMaster(Duration.ofSeconds(10));
      Jedis borrowed = pool.getResource();
      try (Jedis idle = pool.getResource()) {
        idle.ping(); // a second connection, returned: it sits idle (the pool is LIFO, so borrow the kept one first)
      }
      assertThat(pool.getNumIdle()).isEqualTo(1);
      assertThat(borrowed.role().get(0)).isEqualTo("master");

      t.failover();
      RedisProcess next = MasterDiscoveryIT.awaitNewMaster(t, t.node(0));
      changes.nextTo(next.address(), 15);
      // The recorder was added before the pool, so it hears of the switch first: wait until the pool's
      // clear has destroyed the idle connection (not merely taken it off the idle list, which comes first).
      await().atMost(Duration.ofSeconds(5)).until(() -> pool.failoverStats().staleDiscarded() == 1);
      assertThat(pool.getNumIdle()).isZero();
      long destroyed = pool.getDestroyedCount();
      borrowed.close();
      assertThat(pool.getDestroyedCount()).isEqualTo(destroyed + 1);
      assertThat(pool.getNumIdle()).isZero();
      assertThat(pool.failoverStats().staleDiscarded()).isGreaterThanOrEqualTo(2);
      try (Jedis fresh = pool.getResource()) {
        assertThat(fresh.role().get(0)).isEqualTo("master");
        assertThat(fresh.clientInfo()).contains("laddr=" + next.address());
      }
    }
  }

  /**
   * Listeners hear of changes on one thread, in order, so the pool may hear that a master was found
   * after it already opened connections to it (an earlier listener was slow). Such a late notice
   * names no master the pool's connections do not already follow: it must not clear them.
   */
  @Test
  void aLateNoticeOfTheMasterThePoolAlreadyFollowsKeepsItsConnections() throws Exception {
    RedisHaTopology t = ha.topology();
    CountDownLatch release = new CountDownLatch(1);
    MasterListener slow = (before, after) -> {
      try {
        release.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    };
    RedisProcess master = t.awaitHealthy(Duration.ofSeconds(60));
    t.labels().pause();
    t.labels().labelNone(); // no master yet: the pool and a later listener are registered before the first notice
    // Followers (pools) hear changes in order on their own thread: a slow follower ahead of the pool delays its notice.
    try (MasterDiscovery d = TestDiscoveries.labels(t).clientConfig(t.clientConfig()).build();
        FailoverJedisPool pool = followingAfter(d, slow)) {
      ChangeRecorder heardAfterThePool = new ChangeRecorder();
      d.addFollower(heardAfterThePool);
      t.labels().setLabel(t.nodeIndex(master.address()), "true");
      assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(master.address());
      try (Jedis j = pool.getResource()) {
        j.set("k", "v");
      }
      assertThat(pool.getNumIdle()).isEqualTo(1);
      release.countDown();
      heardAfterThePool.nextTo(master.address(), 15); // followers run in order: the pool has heard it too
      assertThat(pool.getNumIdle()).as("the idle connection to the master it announces").isEqualTo(1);
      assertThat(pool.getDestroyedCount()).isZero();
    } finally {
      release.countDown();
      t.labels().resume();
    }
  }

  private static FailoverJedisPool followingAfter(MasterDiscovery d, MasterListener first) {
    d.addFollower(first);
    return new FailoverJedisPool(d, poolConfig(), d.clientConfig());
  }

  /**
   * A failover that hangs after Sentinel chose a replica (both replicas frozen, so the promotion
   * never happens until Sentinel aborts): the write fence holds longer than the pool's maxWait, and
   * a command that waited maxWait at it is refused, never sent to the master being failed over.
   */
  @Test
  void aCommandThatWaitedMaxWaitAtTheWriteFenceIsRefusedNotSent() throws Exception {
    RedisHaTopology t = ha.topology();
    GenericObjectPoolConfig<Jedis> config = poolConfig();
    config.setMaxWait(Duration.ofMillis(300));
    try (MasterDiscovery d = TestDiscoveries.labelsAndSentinels(t).clientConfig(t.clientConfig()).writeFenceTimeout(Duration.ofSeconds(20)).build();
        FailoverJedisPool pool = new FailoverJedisPool(d, config, t.clientConfig())) {
      RedisProcess master = t.awaitHealthy(Duration.ofSeconds(60));
      assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(master.address());
      try (Jedis j = pool.getResource()) {
        j.set("before", "v"); // a pooled connection to the master, from before the fence
      }
      t.replicasOf(master).forEach(RedisProcess::freeze);
      try {
        t.failover(); // Sentinel selects a frozen replica: +selected-slave, then waits for a promotion that cannot come
        await().atMost(Duration.ofSeconds(10)).until(() -> d.fencedGeneration() == d.snapshot().generation());
        int refused = 0;
        for (int i = 0; i < 3 && d.fencedGeneration() == d.snapshot().generation(); i++) {
          String key = "fenced:" + i;
          assertThatThrownBy(() -> {
            try (Jedis j = pool.getResource()) {
              j.set(key, "v");
            }
          }).isInstanceOf(MasterChangedException.class).hasMessageContaining("write fence").hasMessageContaining("safe to retry");
          try (Jedis direct = t.connect(master)) {
            assertThat(direct.exists(key)).as("%s sent to the master under the fence", key).isFalse();
          }
          refused++;
        }
        assertThat(refused).as("commands tried while the fence held").isPositive();
      } finally {
        t.replicasOf(master).forEach(RedisProcess::unfreeze);
      }
    }
  }

  @Test
  void withNoMasterGetResourceWaitsUpToMaxWaitThenNamesTheState() {
    RedisHaTopology t = ha.topology();
    try (MasterDiscovery d = discovery(t, (a, b) -> { })) {
      d.awaitMaster(Duration.ofSeconds(10));
      GenericObjectPoolConfig<Jedis> config = poolConfig();
      config.setMaxWait(Duration.ofMillis(400));
      try (FailoverJedisPool pool = new FailoverJedisPool(d, config, t.clientConfig())) {
        t.sentinels().forEach(RedisProcess::kill);
        t.nodes().forEach(RedisProcess::kill);
        await().atMost(Duration.ofSeconds(10)).until(() -> d.snapshot().master().isEmpty());
        long start = System.nanoTime();
        assertThatThrownBy(pool::getResource)
            .isInstanceOf(MasterUnavailableException.class)
            .hasMessageContaining("no verified Redis master within 400 ms")
            .hasMessageContaining("last known master=" + t.node(0).address());
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(390)).isLessThan(Duration.ofSeconds(5));
        assertThat(pool.getNumActive()).isZero();
      }
    }
  }

  @Test
  void existingJedisPoolCodeRunsUnchanged() {
    RedisHaTopology t = ha.topology();
    try (MasterDiscovery d = discovery(t, (a, b) -> { })) {
      JedisPool pool = new FailoverJedisPool(d, poolConfig(), t.clientConfig()); // the only changed line
      try (pool) {
        try (Jedis jedis = pool.getResource()) {
          jedis.set("greeting", "hello");
        }
        String value;
        try (Jedis jedis = pool.getResource()) {
          value = jedis.get("greeting");
        }
        assertThat(value).isEqualTo("hello");
      }
    }
  }
}
