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
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Several {@code SENTINEL FAILOVER}s in a row under one {@link FailoverRedisClient} and one set of
 * writers (sync, async, reactive on one connection): none loses an acknowledged write or surfaces an
 * error, and the times from promotion to the first acknowledged write are printed with their p50 and
 * max. {@code -Drmd.lettuce.failovers=N} (default 3; each waits ~10 s for Sentinel to demote the old master).
 * A long repeat: run with {@code -Plong} (one failover of each kind is in {@link FailoverRedisClientIT}).
 */
@Tag("long")
class RepeatedFailoverIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create(b -> b.labelLag(Duration.ofSeconds(1)));

  @Test
  void everySentinelFailoverInARowLosesNothing() throws Exception {
    int failovers = Integer.getInteger("rmd.lettuce.failovers", 3);
    RedisHaTopology t = ha.topology();
    RedisProcess master = t.awaitHealthy(Duration.ofSeconds(60));
    try (KubernetesClient k = t.kubernetes().newClient(); MasterDiscovery d = TestSetup.labelsAndSentinels(t, k).build()) {
      FailoverRedisClient client = FailoverRedisClient.create(d, TestSetup.settings(t));
      try (StatefulRedisConnection<String, String> c = client.connect()) {
        Writers writers = Writers.start(c, Api.SYNC, Api.ASYNC, Api.REACTIVE);
        List<Long> micros = new ArrayList<>();
        try {
          for (int i = 0; i < failovers; i++) {
            RedisProcess old = master;
            await().atMost(Duration.ofSeconds(10)).until(() -> d.snapshot().master().filter(old.address()::equals).isPresent());
            long before = System.nanoTime();
            await().atMost(Duration.ofSeconds(5)).until(() -> writers.ackedAfter(before) > 200);
            PromotionWatch watch = PromotionWatch.start(t, t.replicasOf(old), Duration.ofSeconds(20));
            t.failover();
            RedisProcess next = TestSetup.awaitNewMaster(t, old);
            long promotedAt = watch.promotedAtNanos(Duration.ofSeconds(20));
            await().atMost(Duration.ofSeconds(10)).until(() -> writers.ackedAfter(promotedAt) > 300);
            micros.add(writers.firstAckAfter(promotedAt) / 1_000);
            assertThat(writers.missingOn(t, t.awaitAgreedMaster(Duration.ofSeconds(20)))).as("failover %d: acknowledged writes missing from the new master", i + 1).isEmpty();
            assertThat(writers.failures).as("failover %d: errors surfaced:\n  %s", i + 1, writers.failureSummary()).isEmpty();
            master = t.awaitHealthy(Duration.ofSeconds(60)); // the old master demoted and resynced: ready for the next
          }
        } finally {
          writers.close();
        }
        List<Long> sorted = micros.stream().sorted().toList();
        System.out.printf("%d SENTINEL FAILOVERs, 3 writers, 0 lost and 0 errors each: promotion -> first ack (ms) %s; p50 %.1f, max %.1f; %s%n",
            failovers, micros.stream().map(m -> String.format("%.1f", m / 1e3)).toList(), sorted.get(sorted.size() / 2) / 1e3,
            sorted.get(sorted.size() - 1) / 1e3, client.failoverStats());
        assertThat(client.failoverStats().failovers()).isEqualTo(failovers);
      } finally {
        client.shutdown();
      }
    }
  }
}
