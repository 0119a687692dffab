package io.github.redismasterdiscovery.spring;

import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.lettuce.FailoverRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulConnection;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;
import org.springframework.boot.data.redis.autoconfigure.DataRedisProperties;
import org.springframework.boot.data.redis.autoconfigure.LettuceClientConfigurationBuilderCustomizer;
import org.springframework.boot.data.redis.autoconfigure.LettuceClientOptionsBuilderCustomizer;
import org.springframework.boot.ssl.SslBundle;
import org.springframework.boot.ssl.SslOptions;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.connection.RedisPassword;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceClientConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.connection.lettuce.LettucePoolingClientConfiguration;

/**
 * The connection factory on Lettuce, Boot's default client: with Lettuce and {@code rmd-lettuce} on
 * the classpath and {@code spring.data.redis.client-type} unset or {@code lettuce}, a
 * {@link FailoverLettuceConnectionFactory} configured from {@code spring.data.redis.*} as Boot
 * configures its own Lettuce factory (timeouts, client name, SSL bundle, pool, client options with
 * timeouts on, Boot's {@code ClientResources} bean and both Lettuce customizer types). Imported by
 * {@link RedisMasterDiscoveryAutoConfiguration} before its Jedis factory, which then steps aside,
 * as Boot's own Lettuce configuration comes before its Jedis one.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnClass({ RedisClient.class, FailoverRedisClient.class, LettuceConnectionFactory.class })
@ConditionalOnProperty(name = "spring.data.redis.client-type", havingValue = "lettuce", matchIfMissing = true)
class LettuceFactoryConfiguration {

  @Bean
  @ConditionalOnMissingBean(RedisConnectionFactory.class)
  FailoverLettuceConnectionFactory redisConnectionFactory(MasterDiscovery discovery, DataRedisProperties redis,
      ObjectProvider<DataRedisConnectionDetails> connectionDetails, ObjectProvider<io.lettuce.core.resource.ClientResources> resources,
      ObjectProvider<LettuceClientConfigurationBuilderCustomizer> configurationCustomizers,
      ObjectProvider<LettuceClientOptionsBuilderCustomizer> optionsCustomizers) {
    DataRedisConnectionDetails details = connectionDetails.getIfAvailable(() -> new DataRedisConnectionDetails() { });
    RedisStandaloneConfiguration standalone = new RedisStandaloneConfiguration();
    standalone.setDatabase(redis.getDatabase());
    standalone.setUsername(DiscoveryProperties.isSet(details.getUsername()) ? details.getUsername() : null);
    standalone.setPassword(DiscoveryProperties.isSet(details.getPassword()) ? RedisPassword.of(details.getPassword()) : RedisPassword.none());

    DataRedisProperties.Pool pool = redis.getLettuce().getPool();
    LettuceClientConfiguration.LettuceClientConfigurationBuilder builder = pool.getEnabled() == null || pool.getEnabled()
        ? LettucePoolingClientConfiguration.builder().poolConfig(poolConfig(pool)) // Boot's rule: commons-pool2 is here (rmd-core)
        : LettuceClientConfiguration.builder();
    SslBundle ssl = details.getSslBundle();
    if (ssl != null) {
      builder.useSsl();
    }
    if (redis.getTimeout() != null) {
      builder.commandTimeout(redis.getTimeout());
    }
    if (!redis.getLettuce().getShutdownTimeout().isZero()) {
      builder.shutdownTimeout(redis.getLettuce().getShutdownTimeout());
    }
    if (redis.getClientName() != null && !redis.getClientName().isBlank()) {
      builder.clientName(redis.getClientName());
    }
    builder.clientOptions(clientOptions(redis, ssl, optionsCustomizers));
    resources.ifAvailable(builder::clientResources);
    configurationCustomizers.orderedStream().forEach(c -> c.customize(builder));
    return new FailoverLettuceConnectionFactory(discovery, standalone, builder.build());
  }

  private static ClientOptions clientOptions(DataRedisProperties redis, SslBundle ssl, ObjectProvider<LettuceClientOptionsBuilderCustomizer> customizers) {
    ClientOptions.Builder builder = ClientOptions.builder();
    if (redis.getConnectTimeout() != null) {
      builder.socketOptions(SocketOptions.builder().connectTimeout(redis.getConnectTimeout()).build());
    }
    if (ssl != null) {
      io.lettuce.core.SslOptions.Builder sslBuilder = io.lettuce.core.SslOptions.builder()
          .keyManager(ssl.getManagers().getKeyManagerFactory())
          .trustManager(ssl.getManagers().getTrustManagerFactory());
      SslOptions options = ssl.getOptions();
      if (options.getCiphers() != null) {
        sslBuilder.cipherSuites(options.getCiphers());
      }
      if (options.getEnabledProtocols() != null) {
        sslBuilder.protocols(options.getEnabledProtocols());
      }
      builder.sslOptions(sslBuilder.build());
    }
    builder.timeoutOptions(TimeoutOptions.enabled());
    customizers.orderedStream().forEach(c -> c.customize(builder));
    return builder.build();
  }

  private static GenericObjectPoolConfig<StatefulConnection<?, ?>> poolConfig(DataRedisProperties.Pool pool) {
    GenericObjectPoolConfig<StatefulConnection<?, ?>> config = new GenericObjectPoolConfig<>();
    config.setMaxTotal(pool.getMaxActive());
    config.setMaxIdle(pool.getMaxIdle());
    config.setMinIdle(pool.getMinIdle());
    if (pool.getTimeBetweenEvictionRuns() != null) {
      config.setTimeBetweenEvictionRuns(pool.getTimeBetweenEvictionRuns());
    }
    config.setMaxWait(pool.getMaxWait());
    return config;
  }
}
