package io.github.redismasterdiscovery;

import io.github.redismasterdiscovery.testkit.RedisHaTopology;

/** Discovery builders for a testkit topology, so each test states only what it changes. */
final class TestDiscoveries {

  private TestDiscoveries() {}

  /** Watches the topology's pods with the Bitnami label in its namespace. */
  static MasterDiscoveryBuilder labels(RedisHaTopology t) {
    return MasterDiscovery.builder()
        .kubernetesLabels(LabelPreset.BITNAMI)
        .namespace(t.kubernetes().namespace())
        .kubernetesClient(t.kubernetes().newClient());
  }

  /** Labels plus every Sentinel of the topology. */
  static MasterDiscoveryBuilder labelsAndSentinels(RedisHaTopology t) {
    return labels(t).sentinels(t.sentinelAddresses()).masterName(t.masterName());
  }
}
