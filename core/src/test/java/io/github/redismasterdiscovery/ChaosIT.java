package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;

/**
 * Every failure we can produce here, under 4 writers. After each: writes succeed again, every write
 * begun after recovery went to the master the Sentinels agree on and is stored there, the snapshot
 * names that master, and no thread or server connection outlives the pool. Each fault states its
 * bounds, asserted: the longest time without an acknowledged write (a fault that needs a failover:
 * Sentinel's {@code down-after} plus its {@code failover-timeout}, the time Sentinel itself allows;
 * any other: 1 s) and the errors surfaced (at most the commands in flight on a failed master: one
 * per writer, or per pooled connection when the pool is smaller). {@code -Dchaos.repeat=20}
 * repeats the kill -9 scenario to hunt flakiness.
 */
class ChaosIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create(b -> b.labelLag(Duration.ofSeconds(1)));

  /** What a scenario does to the topology; returns when the fault is in place (or over). */
  interface Fault {
    void apply(RedisHaTopology t, MasterDiscovery d) throws Exception;
  }

  /** What a fault may cost the writers: the longest time without an acknowledged write, and errors surfaced. */
  record Bound(long maxGapMillis, int maxErrors) {
    static final int WRITERS = 4;

    /** The master fails and Sentinel must promote a replica: its down-after plus failover-timeout; one error per writer. */
    static Bound failover(RedisHaTopology t) {
      return new Bound(t.downAfter().plus(t.failoverTimeout()).toMillis(), WRITERS);
    }

    /** A planned switch or a fault away from the master: 1 s; at most one error per writer, or none. */
    static Bound switchover() {
      return new Bound(1_000, WRITERS);
    }

    static Bound noMasterFault() {
      return new Bound(1_000, 0);
    }

    Bound poolOf(int connections) {
      return new Bound(maxGapMillis, Math.min(maxErrors, connections));
    }
  }

  static final String CLIENT_NAME = "rmd-chaos";

  /** Runs one scenario end to end, asserting {@code bound}; returns the longest time without an acknowledged write from the fault's start, in ms. */
  static long scenario(RedisHaTopology t, String name, int maxTotal, Bound bound, Fault fault) throws Exception {
    long threadsBefore = rmdThreads();
    JedisClientConfig client = DefaultJedisClientConfig.builder().clientName(CLIENT_NAME).timeoutMillis(1000).build();
    WriteLog log = new WriteLog();
    long faultEnd;
    long maxGapMillis;
    HostAndPort finalMaster;
    ChangeRecorder changes = new ChangeRecorder();
    try (MasterDiscovery d = TestDiscoveries.labelsAndSentinels(t)
        .clientConfig(client)
        .listener(changes)
        .build()) {
      GenericObjectPoolConfig<redis.clients.jedis.Jedis> poolConfig = new GenericObjectPoolConfig<>();
      poolConfig.setMaxTotal(maxTotal);
      poolConfig.setMaxWait(Duration.ofSeconds(5));
      try (FailoverJedisPool pool = new FailoverJedisPool(d, poolConfig, client, RetryPolicy.builder().deadline(Duration.ofSeconds(10)).build())) {
        d.awaitMaster(Duration.ofSeconds(10));
        FailoverJedisPoolIT.Writers writers = new FailoverJedisPoolIT.Writers(Bound.WRITERS, key -> {
          log.attempts.incrementAndGet();
          long start = System.nanoTime();
          try {
            pool.execute(j -> {
              HostAndPort node = log.nodeOf(j, j::clientInfo);
              j.set(key, "v");
              log.acks.add(new WriteLog.Ack(key, start, System.nanoTime(), node));
              return null;
            });
          } catch (RuntimeException e) {
            log.errors.add(e.getClass().getSimpleName() + ": " + e.getMessage());
          }
        });
        await().atMost(Duration.ofSeconds(5)).until(() -> log.acks.size() > 100);
        long faultStart = System.nanoTime();
        fault.apply(t, d);
        faultEnd = System.nanoTime();
        RedisProcess agreed = agreedMaster(t);
        finalMaster = agreed.address();
        await().atMost(Duration.ofSeconds(30)).until(() -> log.startedAfter(faultEnd).stream().filter(a -> a.node().equals(finalMaster)).count() > 100);
        writers.stopAndJoin();

        await().atMost(Duration.ofSeconds(10)).until(() -> d.snapshot().master().filter(finalMaster::equals).isPresent());
        List<WriteLog.Ack> after = log.startedAfter(faultEnd);
        // Writes begun before the fault ended may still finish on the old master; later ones may not.
        long settle = after.stream().filter(a -> a.node().equals(finalMaster)).mapToLong(WriteLog.Ack::atNanos).min().orElseThrow();
        List<WriteLog.Ack> recovered = log.startedAfter(settle);
        assertThat(recovered).as(name + ": writes begun after recovery").isNotEmpty()
            .allSatisfy(a -> assertThat(a.node()).isEqualTo(finalMaster));
        assertThat(WriteLog.missing(t, agreed, recovered)).as(name + ": stored on the master").isEmpty();
        await().atMost(Duration.ofSeconds(5)).until(() -> pool.getNumActive() == 0);
        long[] ackTimes = log.acks.stream().mapToLong(WriteLog.Ack::atNanos).filter(at -> at >= faultStart).sorted().toArray();
        long gap = ackTimes.length == 0 ? 0 : ackTimes[0] - faultStart;
        for (int i = 1; i < ackTimes.length; i++) {
          gap = Math.max(gap, ackTimes[i] - ackTimes[i - 1]);
        }
        maxGapMillis = gap / 1_000_000;
        System.out.printf("chaos %-46s longest write gap %5d ms, fault %5d ms, %d errors of %d calls, %s%n", name, maxGapMillis,
            (faultEnd - faultStart) / 1_000_000, log.errors.size(), log.attempts.get(), pool.failoverStats());
        assertThat(maxGapMillis).as(name + ": longest time without an acknowledged write, ms").isLessThanOrEqualTo(bound.maxGapMillis());
        assertThat(log.errors).as(name + ": errors surfaced").hasSizeLessThanOrEqualTo(bound.maxErrors());
      }
    }
    // Nothing outlives the pool and the discovery: no connection at the server, no rmd-* thread.
    try (Jedis jedis = t.connect(t.nodeAt(finalMaster))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> !jedis.clientList().contains("name=" + CLIENT_NAME));
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> rmdThreads() <= threadsBefore);
    return maxGapMillis;
  }

  /** The master the Sentinels agree on; with every Sentinel dead, the one node that answers ROLE master. */
  static RedisProcess agreedMaster(RedisHaTopology t) {
    if (t.sentinels().stream().noneMatch(RedisProcess::isRunning)) {
      return await().atMost(Duration.ofSeconds(30)).until(t::nodeClaimingMaster, java.util.Objects::nonNull);
    }
    return t.awaitAgreedMaster(Duration.ofSeconds(30));
  }

  static long rmdThreads() {
    return Thread.getAllStackTraces().keySet().stream().filter(th -> th.isAlive() && th.getName().startsWith("rmd-")
        && !th.getName().startsWith("rmd-testkit")).count();
  }

  static void awaitPromotion(RedisHaTopology t, RedisProcess old) {
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> t.awaitAgreedMaster(Duration.ofSeconds(30)), m -> m != old);
  }

  @Test
  void masterKilled() throws Exception {
    scenario(ha.topology(), "master kill -9", 16, Bound.failover(ha.topology()), (t, d) -> {
      RedisProcess old = t.master();
      old.kill();
      awaitPromotion(t, old);
    });
  }

  @Test
  void masterFrozenPastDownAfterThenResumed() throws Exception {
    scenario(ha.topology(), "master SIGSTOP, resumed as stale master", 16, Bound.failover(ha.topology()), (t, d) -> {
      RedisProcess old = t.master();
      old.freeze();
      awaitPromotion(t, old);
      old.unfreeze(); // wakes up believing it is master: the split-brain window
      await().atMost(Duration.ofSeconds(20)).until(() -> t.role(old).equals("slave"));
    });
  }

  @Test
  void replicaKilled() throws Exception {
    scenario(ha.topology(), "replica kill -9", 16, Bound.noMasterFault(), (t, d) -> t.replicasOf(t.master()).get(0).kill());
  }

  @Test
  void oneSentinelKilled() throws Exception {
    scenario(ha.topology(), "one Sentinel killed, then master kill -9", 16, Bound.failover(ha.topology()), (t, d) -> {
      t.sentinels().get(0).kill();
      RedisProcess old = t.master();
      old.kill();
      awaitPromotion(t, old);
    });
  }

  @Test
  void allSentinelsKilled() throws Exception {
    scenario(ha.topology(), "all Sentinels killed", 16, Bound.noMasterFault(), (t, d) -> t.sentinels().forEach(RedisProcess::kill));
  }

  @Test
  void apiServerDownThenBack() throws Exception {
    scenario(ha.topology(), "API down, a failover inside", 16, Bound.switchover(), (t, d) -> {
      t.kubernetes().stop();
      // The outage is long enough once the discovery has noticed it: the label source is DOWN.
      await().atMost(Duration.ofSeconds(15)).until(() -> d.snapshot().sources().get(SourceKind.KUBERNETES).status() == SourceState.Status.DOWN);
      RedisProcess old = t.master();
      t.failover();
      awaitPromotion(t, old);
      t.kubernetes().restart();
      await().atMost(Duration.ofSeconds(30)).until(() -> d.snapshot().sources().get(SourceKind.KUBERNETES).status() == SourceState.Status.UP);
    });
  }

  @Test
  void apiServerBackWithEmptyState() throws Exception {
    scenario(ha.topology(), "API back with no pods", 16, Bound.noMasterFault(), (t, d) -> t.kubernetes().restartEmpty());
  }

  @Test
  void labelFlappingEvery100msFor10s() throws Exception {
    RedisHaTopology topology = ha.topology();
    scenario(topology, "label flapping every 100 ms for 10 s", 16, Bound.noMasterFault(), (t, d) -> {
      t.labels().pause();
      int master = t.nodeIndex(t.master().address());
      int other = (master + 1) % 3;
      for (int i = 0; i < 100; i++) {
        boolean onOther = i % 2 == 0;
        t.labels().setLabel(other, onOther ? "true" : "false");
        t.labels().setLabel(master, onOther ? "false" : "true");
        TimeUnit.MILLISECONDS.sleep(100); // the fault's own rhythm: a label flip every 100 ms
      }
      t.labels().setLabel(master, "true");
      t.labels().setLabel(other, "false");
    });
  }

  @Test
  void twoPodsLabeledDuringAFailover() throws Exception {
    scenario(ha.topology(), "two pods labeled during a failover", 16, Bound.switchover(), (t, d) -> {
      t.labels().pause();
      t.labels().labelTwoPods();
      RedisProcess old = t.master();
      t.failover();
      awaitPromotion(t, old);
    });
  }

  @Test
  void masterPodRecreated() throws Exception {
    scenario(ha.topology(), "master pod deleted and recreated", 16, Bound.noMasterFault(), (t, d) -> {
      KubernetesClient k = t.kubernetes().newClient();
      String name = t.podName(t.nodeIndex(t.master().address()));
      Pod pod = k.pods().inNamespace("redis").withName(name).get();
      k.pods().inNamespace("redis").withName(name).delete();
      await().atMost(Duration.ofSeconds(5)).until(() -> k.pods().inNamespace("redis").withName(name).get() == null);
      k.pods().inNamespace("redis").resource(new PodBuilder(pod).editMetadata().withResourceVersion(null).withUid(null).endMetadata().build()).create();
    });
  }

  @Test
  void poolExhaustedDuringAFailover() throws Exception {
    scenario(ha.topology(), "pool of 2 for 4 writers, master kill -9", 2, Bound.failover(ha.topology()).poolOf(2), (t, d) -> {
      RedisProcess old = t.master();
      old.kill();
      awaitPromotion(t, old);
    });
  }

  @TestFactory
  Stream<DynamicTest> repeatedKill() {
    int repeat = Integer.getInteger("chaos.repeat", 0);
    return IntStream.range(0, repeat).mapToObj(i -> DynamicTest.dynamicTest("kill -9 #" + (i + 1), () -> {
      try (RedisHaTopology t = RedisHaTopology.builder().labelLag(Duration.ofSeconds(1)).start()) {
        scenario(t, "kill -9 repeat " + (i + 1), 16, Bound.failover(t), (topology, d) -> {
          RedisProcess old = topology.master();
          old.kill();
          awaitPromotion(topology, old);
        });
      }
    }));
  }
}
