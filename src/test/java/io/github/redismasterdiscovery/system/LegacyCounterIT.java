package io.github.redismasterdiscovery.system;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.redismasterdiscovery.FailoverJedisPool;
import io.github.redismasterdiscovery.LabelPreset;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.examples.LegacyCounter;
import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.JedisPool;

/** Existing JedisPool code, unchanged but for the constructor, keeps counting across a failover. */
class LegacyCounterIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create();

  @Test
  void legacyCodeRunsOnFailoverJedisPoolAcrossAFailover() throws Exception {
    RedisHaTopology t = ha.topology();
    try (MasterDiscovery discovery = MasterDiscovery.builder()
        .kubernetesLabels(LabelPreset.BITNAMI)
        .namespace(t.kubernetes().namespace())
        .kubernetesClient(t.kubernetes().newClient())
        .sentinels(t.sentinelAddresses())
        .masterName(t.masterName())
        .build()) {
      JedisPool pool = new FailoverJedisPool(discovery); // was: new JedisPool("redis-master", 6379)
      try (pool) {
        LegacyCounter counter = new LegacyCounter(pool);
        assertThat(counter.hit("home")).isEqualTo(1);
        assertThat(counter.hit("home")).isEqualTo(2);

        RedisProcess old = t.master();
        t.failover();
        RedisProcess next = org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
            .until(() -> t.awaitAgreedMaster(Duration.ofSeconds(20)), m -> m != old);
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
            .until(() -> discovery.snapshot().master().filter(next.address()::equals).isPresent());
        assertThat(counter.hit("home")).isEqualTo(3);
        assertThat(counter.views("home")).isEqualTo(3);
      }
    }
  }
}
