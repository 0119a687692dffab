package io.github.redismasterdiscovery.lettuce;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.github.redismasterdiscovery.LabelPreset;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.MasterDiscoveryBuilder;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import io.lettuce.core.RedisURI;
import java.time.Duration;

/** Discoveries and client settings for a testkit topology. */
final class TestSetup {

  private TestSetup() {}

  /** Watches the topology's pods (Bitnami label) and every Sentinel. The caller closes the Kubernetes client after the discovery. */
  static MasterDiscoveryBuilder labelsAndSentinels(RedisHaTopology t, KubernetesClient kubernetes) {
    return MasterDiscovery.builder()
        .kubernetesLabels(LabelPreset.BITNAMI)
        .namespace(t.kubernetes().namespace())
        .kubernetesClient(kubernetes)
        .sentinels(t.sentinelAddresses())
        .masterName(t.masterName())
        .clientConfig(t.clientConfig());
  }

  /** Connection settings for the data nodes: the password, a 10 s timeout; the host is the discovery's to decide. */
  static RedisURI settings(RedisHaTopology t) {
    RedisURI.Builder b = RedisURI.builder().withHost("discovered-master").withTimeout(Duration.ofSeconds(10));
    if (t.password() != null) {
      b.withPassword(t.password().toCharArray());
    }
    return b.build();
  }

  /** Plain Lettuce with Sentinel, as its documentation shows it: the control. */
  static RedisURI sentinelUri(RedisHaTopology t) {
    RedisURI.Builder b = null;
    for (var s : t.sentinelAddresses()) {
      b = b == null ? RedisURI.Builder.sentinel(s.getHost(), s.getPort(), t.masterName()) : b.withSentinel(s.getHost(), s.getPort());
    }
    b.withTimeout(Duration.ofSeconds(10));
    if (t.password() != null) {
      b.withPassword(t.password().toCharArray());
    }
    return b.build();
  }

  static RedisProcess awaitNewMaster(RedisHaTopology t, RedisProcess old) {
    return org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
        .until(() -> t.awaitAgreedMaster(Duration.ofSeconds(20)), m -> m != old);
  }
}
