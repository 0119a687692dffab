package io.github.redismasterdiscovery.system;

import io.github.redismasterdiscovery.FailoverJedisPool;
import io.github.redismasterdiscovery.LabelPreset;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.examples.LegacyCounter;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import java.time.Duration;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPool;

/** Existing {@link JedisPool} code ({@link LegacyCounter}), unchanged but for the constructor: the drop-in pool. */
class LegacyCounterIT extends CounterScenario {

  @Override
  Counter start(RedisHaTopology t) {
    MasterDiscovery discovery = MasterDiscovery.builder()
        .kubernetesLabels(LabelPreset.BITNAMI)
        .namespace(t.kubernetes().namespace())
        .kubernetesClient(t.kubernetes().newClient())
        .sentinels(t.sentinelAddresses())
        .masterName(t.masterName())
        .build();
    GenericObjectPoolConfig<Jedis> config = new GenericObjectPoolConfig<>();
    config.setMaxWait(Duration.ofSeconds(5)); // a borrow waits this long for a master during a failover
    JedisPool pool = new FailoverJedisPool(discovery, config); // was: new JedisPool("redis-master", 6379)
    LegacyCounter counter = new LegacyCounter(pool);
    return new Counter() {
      @Override
      public long hit(String page) {
        return counter.hit(page);
      }

      @Override
      public long hits(String page) {
        return counter.views(page);
      }

      @Override
      public void close() {
        pool.close();
        discovery.close();
      }
    };
  }
}
