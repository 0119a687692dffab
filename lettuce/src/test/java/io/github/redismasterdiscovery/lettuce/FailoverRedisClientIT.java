package io.github.redismasterdiscovery.lettuce;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.lettuce.Writers.Api;
import io.github.redismasterdiscovery.testkit.PromotionWatch;
import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link FailoverRedisClient} through real failovers (3 redis-server and 3 Sentinel processes, a
 * Kubernetes mock API whose pod labels follow the master one second late), beside plain Lettuce with
 * Sentinel as the control. Times are printed, not asserted.
 */
class FailoverRedisClientIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create(b -> b.labelLag(Duration.ofSeconds(1)));

  /**
   * The problem, shown: plain Lettuce with Sentinel keeps writing to the old master after a
   * {@code SENTINEL FAILOVER} promoted a replica (Sentinel demotes the old master only ~10 s later),
   * and every write the old master acknowledges meanwhile is missing from the new master.
   */
  @Test
  void plainLettuceWithSentinelLosesAcknowledgedWritesOnSentinelFailover() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess old = t.awaitHealthy(Duration.ofSeconds(60));
    RedisClient client = RedisClient.create(TestSetup.sentinelUri(t));
    try (StatefulRedisConnection<String, String> c = client.connect()) {
      Writers writers = Writers.start(c, Api.SYNC, Api.ASYNC, Api.REACTIVE);
      await().atMost(Duration.ofSeconds(5)).until(() -> writers.acks.size() > 300);
      PromotionWatch watch = PromotionWatch.start(t, t.replicasOf(old), Duration.ofSeconds(20));
      t.failover();
      RedisProcess next = TestSetup.awaitNewMaster(t, old);
      long promotedAt = watch.promotedAtNanos(Duration.ofSeconds(20));
      await().atMost(Duration.ofSeconds(10)).until(() -> writers.ackedAfter(promotedAt) > 300);
      writers.close();
      List<String> lost = writers.missingOn(t, t.awaitAgreedMaster(Duration.ofSeconds(20)));
      System.out.printf("plain Lettuce (Sentinel), SENTINEL FAILOVER, 3 writers: %d of %d acknowledged writes missing from the new master; "
          + "%d errors%n", lost.size(), writers.acks.size(), writers.failures.size());
      assertThat(lost).as("acknowledged by the old master after the promotion, then lost").isNotEmpty();
    } finally {
      client.shutdown();
    }
  }

  /**
   * The same failover with {@link FailoverRedisClient}: sync, async and reactive writers sharing one
   * connection, and a second connection left idle across the switch and used after it. Nothing
   * acknowledged is missing from the new master, and no writer saw an error.
   */
  @Test
  void syncAsyncAndReactiveWritersLoseNoAcknowledgedWriteOnSentinelFailover() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess old = t.awaitHealthy(Duration.ofSeconds(60));
    try (KubernetesClient k = t.kubernetes().newClient(); MasterDiscovery d = TestSetup.labelsAndSentinels(t, k).build()) {
      FailoverRedisClient client = FailoverRedisClient.create(d, TestSetup.settings(t));
      try (StatefulRedisConnection<String, String> c = client.connect(); StatefulRedisConnection<String, String> idle = client.connect()) {
        idle.sync().set("idle:before", "v");
        Writers writers = Writers.start(c, Api.SYNC, Api.ASYNC, Api.REACTIVE);
        await().atMost(Duration.ofSeconds(5)).until(() -> writers.acks.size() > 300);
        PromotionWatch watch = PromotionWatch.start(t, t.replicasOf(old), Duration.ofSeconds(20));
        long failoverAt = System.nanoTime();
        t.failover();
        RedisProcess next = TestSetup.awaitNewMaster(t, old);
        long promotedAt = watch.promotedAtNanos(Duration.ofSeconds(20));
        await().atMost(Duration.ofSeconds(10)).until(() -> writers.ackedAfter(promotedAt) > 300);
        for (int i = 0; i < 20; i++) {
          idle.sync().set("idle:after:" + i, "v");
        }
        writers.close();

        List<String> lost = writers.missingOn(t, t.awaitAgreedMaster(Duration.ofSeconds(20)));
        try (var j = t.connect(next)) {
          for (int i = 0; i < 20; i++) {
            assertThat(j.exists("idle:after:" + i)).as("idle:after:%d, written on a connection opened before the failover", i).isTrue();
          }
        }
        System.out.printf("FailoverRedisClient, SENTINEL FAILOVER, 3 writers: promotion -> first ack after it %.1f ms; longest pause between acks %d ms; "
                + "%d of %d acknowledged writes missing from the new master; %d errors; %s%n",
            writers.firstAckAfter(promotedAt) / 1e6, writers.longestPauseAfter(failoverAt) / 1_000_000,
            lost.size(), writers.acks.size(), writers.failures.size(), client.failoverStats());
        assertThat(lost).as("acknowledged writes missing from the new master").isEmpty();
        assertThat(writers.failures).as("errors surfaced:\n  %s", writers.failureSummary()).isEmpty();
        assertThat(client.failoverStats().failovers()).isEqualTo(1);
        assertThat(client.failoverStats().closedAtSwitch()).isGreaterThanOrEqualTo(2);
      } finally {
        client.shutdown();
      }
    }
  }

  /**
   * {@code kill -9} of the master: the commands in flight at the kill fail (at most one per writer,
   * each writer having one command at a time), saying they may have run; everything else waits for
   * the new master and is acknowledged there.
   */
  @Test
  void killMinus9FailsAtMostTheCommandsInFlight() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess old = t.awaitHealthy(Duration.ofSeconds(60));
    try (KubernetesClient k = t.kubernetes().newClient(); MasterDiscovery d = TestSetup.labelsAndSentinels(t, k).build()) {
      FailoverRedisClient client = FailoverRedisClient.create(d, TestSetup.settings(t));
      try (StatefulRedisConnection<String, String> c = client.connect()) {
        Writers writers = Writers.start(c, Api.SYNC, Api.ASYNC, Api.REACTIVE);
        await().atMost(Duration.ofSeconds(5)).until(() -> writers.acks.size() > 300);
        PromotionWatch watch = PromotionWatch.start(t, t.replicasOf(old), Duration.ofSeconds(20));
        long killedAt = System.nanoTime();
        old.kill();
        RedisProcess next = TestSetup.awaitNewMaster(t, old);
        long promotedAt = watch.promotedAtNanos(Duration.ofSeconds(20));
        await().atMost(Duration.ofSeconds(10)).until(() -> writers.ackedAfter(promotedAt) > 300);
        writers.close();

        List<String> missing = writers.missingOn(t, t.awaitAgreedMaster(Duration.ofSeconds(20)));
        java.util.Set<String> missingKeys = new java.util.HashSet<>(missing);
        long lostBeforeKill = writers.acks.stream().filter(a -> a.atNanos() < killedAt && missingKeys.contains(a.key())).count();
        System.out.printf("FailoverRedisClient, kill -9, 3 writers: promotion %d ms after the kill; promotion -> first ack after it %.1f ms; "
                + "%d errors of %d calls; %d acknowledged before the kill lost to asynchronous replication; %s%n",
            (promotedAt - killedAt) / 1_000_000, writers.firstAckAfter(promotedAt) / 1e6, writers.failures.size(), writers.attempts.get(),
            lostBeforeKill, client.failoverStats());
        assertThat(writers.failures).as("errors surfaced:\n  %s", writers.failureSummary()).hasSizeLessThanOrEqualTo(3)
            .allSatisfy(f -> assertThat(f.error()).isInstanceOfSatisfying(MasterSwitchedException.class,
                e -> assertThat(e.mayHaveRun()).isTrue()));
        assertThat(writers.failures.stream().map(Writers.Failure::api).distinct().count()).isEqualTo(writers.failures.size());
        assertThat(missing.size()).as("only writes acknowledged before the kill may be missing").isEqualTo(lostBeforeKill);
      } finally {
        client.shutdown();
      }
    }
  }
}
