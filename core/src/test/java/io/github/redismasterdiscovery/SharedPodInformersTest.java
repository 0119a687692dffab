package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.KubernetesClient;
import org.junit.jupiter.api.Test;

/** The auto-configured client's watch reconnect interval: spread so that a fleet does not reconnect in step. */
class SharedPodInformersTest {

  @Test
  void theReconnectIntervalIsSpreadOverOneToTwoTimesItsBase() {
    assertThat(SharedPodInformers.spread(null, 0)).isEqualTo(1_000);
    assertThat(SharedPodInformers.spread(1_000, 0.5)).isEqualTo(1_500);
    assertThat(SharedPodInformers.spread(2_000, 0.999)).isEqualTo(3_998);
    assertThat(SharedPodInformers.spread(0, 0.25)).as("an unusable base falls back to fabric8's default").isEqualTo(1_250);
  }

  @Test
  void theDefaultClientUsesASpreadInterval() {
    KubernetesClient client = SharedPodInformers.acquireDefaultClient();
    try {
      assertThat(client.getConfiguration().getWatchReconnectInterval()).isBetween(1_000, 1_999);
    } finally {
      SharedPodInformers.releaseDefaultClient();
    }
  }
}
