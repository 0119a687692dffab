package io.github.redismasterdiscovery.system;

import io.github.redismasterdiscovery.LabelPreset;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.examples.PlainJavaCounter;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;

/** The library as a plain dependency: a discovery, its connection provider, Jedis' UnifiedJedis with the retrying executor. */
class PlainJavaCounterIT extends CounterScenario {

  @Override
  Counter start(RedisHaTopology t) {
    MasterDiscovery discovery = MasterDiscovery.builder()
        .kubernetesLabels(LabelPreset.BITNAMI)
        .namespace(t.kubernetes().namespace())
        .kubernetesClient(t.kubernetes().newClient())
        .sentinels(t.sentinelAddresses())
        .masterName(t.masterName())
        .build();
    PlainJavaCounter counter = new PlainJavaCounter(discovery, t.clientConfig());
    return new Counter() {
      @Override
      public long hit(String page) {
        return counter.hit(page);
      }

      @Override
      public long hits(String page) {
        return counter.hits(page);
      }

      @Override
      public void close() {
        counter.close();
      }
    };
  }
}
