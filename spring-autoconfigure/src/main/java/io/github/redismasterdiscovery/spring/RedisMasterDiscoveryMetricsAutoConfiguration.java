package io.github.redismasterdiscovery.spring;

import io.github.redismasterdiscovery.MasterDiscovery;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** {@link RedisMasterDiscoveryMetrics}, bound by Boot's metrics support to every registry. */
@AutoConfiguration(after = RedisMasterDiscoveryAutoConfiguration.class)
@ConditionalOnClass({ MeterBinder.class, MasterDiscovery.class })
@ConditionalOnBean(MasterDiscovery.class)
public class RedisMasterDiscoveryMetricsAutoConfiguration {

  @Bean
  @ConditionalOnMissingBean
  RedisMasterDiscoveryMetrics redisMasterDiscoveryMetrics(MasterDiscovery discovery, ObjectProvider<FailoverJedisConnectionFactory> factory) {
    return new RedisMasterDiscoveryMetrics(discovery, factory.getIfAvailable());
  }

  /** The factory's failover meters when it is the Lettuce one. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = { "io.lettuce.core.RedisClient", "io.github.redismasterdiscovery.lettuce.FailoverRedisClient" })
  static class OnLettuce {
    @Bean
    @ConditionalOnBean(FailoverLettuceConnectionFactory.class)
    @ConditionalOnMissingBean(name = "redisMasterDiscoveryLettuceMetrics")
    MeterBinder redisMasterDiscoveryLettuceMetrics(FailoverLettuceConnectionFactory factory) {
      return new LettuceFailoverMetrics(factory);
    }
  }
}
