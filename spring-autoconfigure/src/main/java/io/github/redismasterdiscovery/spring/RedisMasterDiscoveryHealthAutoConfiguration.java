package io.github.redismasterdiscovery.spring;

import io.github.redismasterdiscovery.MasterDiscovery;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

/** The {@code redisMasterDiscovery} health contributor ({@code management.health.redis-master-discovery.enabled}). */
@AutoConfiguration(after = RedisMasterDiscoveryAutoConfiguration.class)
@ConditionalOnClass({ HealthIndicator.class, ConditionalOnEnabledHealthIndicator.class, MasterDiscovery.class })
@ConditionalOnBean(MasterDiscovery.class)
@ConditionalOnEnabledHealthIndicator("redis-master-discovery")
public class RedisMasterDiscoveryHealthAutoConfiguration {

  @Bean
  @ConditionalOnMissingBean(name = "redisMasterDiscoveryHealthIndicator")
  RedisMasterDiscoveryHealthIndicator redisMasterDiscoveryHealthIndicator(MasterDiscovery discovery) {
    return new RedisMasterDiscoveryHealthIndicator(discovery);
  }
}
