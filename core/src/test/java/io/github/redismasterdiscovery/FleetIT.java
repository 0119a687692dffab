package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.Jedis;

/**
 * What a fleet sends the node being promoted: every application pod runs its own discovery, and
 * they all chase the same replica at the same moment. Ten discoveries that share nothing a server
 * sees (each its own Sentinel links, by client name, its own informer and probe connections), one
 * {@code SENTINEL FAILOVER}: the {@code ROLE}s they send the promoted replica, counted by the replica.
 * The fleet benchmark (bench, section {@code fleet}) measures the same at hundreds of pods.
 */
class FleetIT {

  static final int PODS = 10;

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create();

  @Test
  void podsChasingOnePromotionSendTheReplicaAFewRoleEachNotHundreds() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess master = t.awaitHealthy(Duration.ofSeconds(60));
    List<MasterDiscovery> pods = new ArrayList<>();
    try {
      for (int i = 0; i < PODS; i++) {
        pods.add(TestDiscoveries.labelsAndSentinels(t).clientConfig(t.clientConfig())
            .sentinelClientConfig(DefaultJedisClientConfig.builder().clientName("pod-" + i).build()).build());
      }
      for (MasterDiscovery d : pods) {
        d.awaitMaster(Duration.ofSeconds(10));
      }
      for (RedisProcess sentinel : t.sentinels()) {
        assertThat(subscriptions(t, sentinel)).as("a subscription per pod at %s: nothing shared", sentinel.address()).isEqualTo(PODS);
      }
      List<RedisProcess> replicas = t.replicasOf(master);
      long[] before = replicas.stream().mapToLong(r -> roleCalls(t, r)).toArray();
      t.failover();
      await().atMost(Duration.ofSeconds(30)).until(() -> pods.stream().allMatch(d -> d.snapshot().master().filter(m -> !m.equals(master.address()))
          .isPresent()));
      TimeUnit.SECONDS.sleep(2); // an observation window: the rounds that follow the switch (each Sentinel's +switch-master)
      RedisProcess promoted = replicas.stream().filter(r -> pods.get(0).snapshot().master().orElseThrow().equals(r.address())).findFirst()
          .orElseThrow();
      long sent = roleCalls(t, promoted) - before[replicas.indexOf(promoted)];
      double perPod = (double) sent / PODS;
      System.out.printf("%d pods, SENTINEL FAILOVER: %d ROLE at the promoted replica, %.1f per pod%n", PODS, sent, perPod);
      // A chase asks at +selected-slave, 3 ms later, at +failover-state-wait-promotion (the promotion) and at most 5 times a
      // second; rounds then verify the new master when each Sentinel announces it. A 2 ms loop sent ~50 per pod before the
      // promotion alone.
      assertThat(perPod).as("ROLE per pod at the promoted replica").isLessThanOrEqualTo(12);
    } finally {
      pods.forEach(MasterDiscovery::close);
    }
  }

  private static long roleCalls(RedisHaTopology t, RedisProcess node) {
    try (Jedis j = t.connect(node)) {
      for (String line : j.info("commandstats").split("\r?\n")) {
        if (line.startsWith("cmdstat_role:")) {
          return Long.parseLong(line.substring(line.indexOf("calls=") + 6, line.indexOf(',', line.indexOf("calls="))));
        }
      }
      return 0;
    }
  }

  private static long subscriptions(RedisHaTopology t, RedisProcess sentinel) {
    try (Jedis j = t.connect(sentinel)) {
      return List.of(j.clientList().split("\n")).stream().filter(l -> l.contains(" name=" + SentinelLinks.CLIENT_NAME + " ")).count();
    }
  }
}
