package io.github.redismasterdiscovery.testkit;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RedisHaTopologyBuilderTest {

  @Test
  void rejectsAQuorumLargerThanTheSentinels() {
    assertThatThrownBy(() -> RedisHaTopology.builder().sentinels(3, 4))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("quorum=4");
  }

  @Test
  void rejectsZeroReplicas() {
    assertThatThrownBy(() -> RedisHaTopology.builder().replicas(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("replicas must be at least 1, was 0");
  }

  @Test
  void rejectsNonPositiveTimings() {
    assertThatThrownBy(() -> RedisHaTopology.builder().downAfter(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("downAfter must be positive");
    assertThatThrownBy(() -> RedisHaTopology.builder().labelLag(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("labelLag");
  }

  @Test
  void rejectsBlankNames() {
    assertThatThrownBy(() -> RedisHaTopology.builder().masterName(" "))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("masterName must not be blank");
  }
}
