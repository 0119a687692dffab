package io.github.redismasterdiscovery.spring;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.MasterDiscoveryBuilder;
import io.github.redismasterdiscovery.MasterUnavailableException;
import io.github.redismasterdiscovery.SourceKind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLParameters;
import org.apache.commons.pool2.impl.GenericObjectPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;
import org.springframework.boot.data.redis.autoconfigure.DataRedisProperties;
import org.springframework.boot.data.redis.autoconfigure.JedisClientConfigurationBuilderCustomizer;
import org.springframework.boot.ssl.SslBundle;
import org.springframework.boot.ssl.SslOptions;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Import;
import org.springframework.core.env.Environment;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.connection.RedisPassword;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.jedis.JedisClientConfiguration;
import org.springframework.data.redis.connection.jedis.JedisConnectionFactory;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisPoolConfig;

/**
 * A {@link MasterDiscovery} from {@code redis-master-discovery.*} and a connection factory on it,
 * configured from {@code spring.data.redis.*} like Boot's own, so {@code RedisTemplate},
 * {@code ReactiveRedisTemplate} (Lettuce), caches and Spring Session follow the master. The client is
 * chosen as Boot chooses it: Lettuce ({@link FailoverLettuceConnectionFactory}, with Lettuce and
 * {@code rmd-lettuce} on the classpath) unless {@code spring.data.redis.client-type=jedis}, else Jedis
 * ({@link FailoverJedisConnectionFactory}); with {@code client-type=lettuce} and no Lettuce, everything
 * backs off ({@link ClientTypeCondition}). Runs before Boot's Redis auto-configuration, whose
 * connection factories then step aside; every bean steps aside for the application's own.
 */
@AutoConfiguration(before = DataRedisAutoConfiguration.class)
@ConditionalOnClass({ MasterDiscovery.class, JedisConnectionFactory.class, Jedis.class, GenericObjectPool.class })
@ConditionalOnBooleanProperty(name = "redis-master-discovery.enabled", matchIfMissing = true)
@Conditional(ClientTypeCondition.class)
@EnableConfigurationProperties({ RedisMasterDiscoveryProperties.class, DataRedisProperties.class })
@Import(LettuceFactoryConfiguration.class) // its factory is registered first: the Jedis one below then steps aside
public class RedisMasterDiscoveryAutoConfiguration {

  private static final Logger log = LoggerFactory.getLogger(RedisMasterDiscoveryAutoConfiguration.class);

  /** The discovery, closed with the context. Uses the application's {@link KubernetesClient} bean when there is one. */
  @Bean(destroyMethod = "close")
  @ConditionalOnMissingBean
  MasterDiscovery redisMasterDiscovery(RedisMasterDiscoveryProperties properties, DataRedisProperties redis,
      ObjectProvider<DataRedisConnectionDetails> connectionDetails, Environment environment, ObjectProvider<KubernetesClient> kubernetesClient,
      ObjectProvider<MasterDiscoveryBuilderCustomizer> customizers, RedisMasterChangedEventRelay events) {
    DataRedisConnectionDetails details = connectionDetails.getIfAvailable(() -> new DataRedisConnectionDetails() { });
    refuseCluster(redis, details);
    warnIgnored(environment);
    Duration startup = properties.getStartupTimeout();
    if (startup != null && startup.isNegative()) {
      throw new RedisMasterDiscoveryConfigurationException("redis-master-discovery.startup-timeout", "is negative (" + startup + ")",
          "Set redis-master-discovery.startup-timeout to how long start-up may wait for a verified master, or 0 not to wait");
    }
    MasterDiscoveryBuilder builder = DiscoveryProperties.builder(properties, details, nodeClientConfig(redis, details),
        kubernetesClient.getIfAvailable());
    AtomicReference<MasterDiscovery> built = new AtomicReference<>();
    // Added before build, so even the first master found is published; the source is the discovery once it exists.
    builder.listener((before, after) -> events.publish(new RedisMasterChangedEvent(Objects.requireNonNullElse(built.get(), properties),
        before, after)));
    customizers.orderedStream().forEach(c -> c.customize(builder));
    MasterDiscovery discovery = DiscoveryProperties.build(builder);
    built.set(discovery);
    if (startup != null && !startup.isZero()) {
      try {
        discovery.awaitMaster(startup);
      } catch (MasterUnavailableException e) {
        discovery.close();
        if (!e.configurationErrors().isEmpty()) {
          throw misconfigured(e.configurationErrors(), properties);
        }
        throw new RedisMasterDiscoveryConfigurationException("redis-master-discovery.startup-timeout",
            "no verified Redis master within " + startup.toMillis() + " ms: " + e.snapshot().describe(),
            "Check what each source sees (above), or set redis-master-discovery.startup-timeout=0 to start without a master "
                + "(health then says DOWN until one is found)");
      }
    }
    return discovery;
  }

  /** Publishes the discovery's changes as {@link RedisMasterChangedEvent}s, from the moment the context's singletons exist. */
  @Bean
  static RedisMasterChangedEventRelay redisMasterChangedEventRelay(ApplicationEventPublisher publisher) {
    return new RedisMasterChangedEventRelay(publisher);
  }

  /**
   * Start-up gave up early: every way to a master is refused for a configuration error. Names the
   * properties behind each refusal and what to do, in Spring's terms.
   */
  static RedisMasterDiscoveryConfigurationException misconfigured(Map<SourceKind, String> errors, RedisMasterDiscoveryProperties properties) {
    String sentinel = properties.getSentinel().getNodes().isEmpty() ? "spring.data.redis.sentinel" : "redis-master-discovery.sentinel";
    List<String> names = new ArrayList<>();
    List<String> actions = new ArrayList<>();
    errors.forEach((kind, error) -> {
      switch (kind) {
        case SENTINEL -> {
          names.add(sentinel + ".password");
          actions.add("Sentinels: fix " + sentinel + ".password and .username as the reason says (when the Sentinels have no password, "
              + "remove " + sentinel + ".password or leave it empty), or " + sentinel + (sentinel.startsWith("spring") ? ".master" : ".master-name")
              + " when they do not know the master set");
        }
        case NODE_PROBE -> {
          names.add("spring.data.redis.password");
          actions.add("Redis nodes: fix spring.data.redis.password and .username as the reason says (when Redis has no password, remove "
              + "spring.data.redis.password or leave it empty)");
        }
        case KUBERNETES -> {
          names.add("redis-master-discovery.kubernetes");
          actions.add("Kubernetes: grant the application's service account get, list and watch on pods in the namespace "
              + "(examples/k8s/rbac.yaml), or remove redis-master-discovery.kubernetes.* to find the master without pod labels");
        }
        default -> actions.add(kind + ": " + error);
      }
    });
    return new RedisMasterDiscoveryConfigurationException(String.join(", ", names),
        "every way to a Redis master is refused for a configuration error: " + String.join("; ", errors.values()),
        String.join(". ", actions) + ". Start-up gave up at once: waiting longer (redis-master-discovery.startup-timeout) cannot help.");
  }

  /**
   * Boot's Jedis factory, with a pool that follows the master; pooling is always on. With
   * {@code spring.data.redis.client-type=jedis}, or when the Lettuce factory is not there (no Lettuce
   * or no {@code rmd-lettuce} on the classpath).
   */
  @Bean
  @ConditionalOnMissingBean(RedisConnectionFactory.class)
  @ConditionalOnProperty(name = "spring.data.redis.client-type", havingValue = "jedis", matchIfMissing = true)
  FailoverJedisConnectionFactory redisConnectionFactory(MasterDiscovery discovery, RedisMasterDiscoveryProperties properties,
      DataRedisProperties redis, ObjectProvider<DataRedisConnectionDetails> connectionDetails, Environment environment,
      ObjectProvider<JedisClientConfigurationBuilderCustomizer> customizers) {
    DataRedisConnectionDetails details = connectionDetails.getIfAvailable(() -> new DataRedisConnectionDetails() { });
    RedisStandaloneConfiguration standalone = new RedisStandaloneConfiguration();
    standalone.setDatabase(redis.getDatabase());
    standalone.setUsername(DiscoveryProperties.isSet(details.getUsername()) ? details.getUsername() : null);
    standalone.setPassword(DiscoveryProperties.isSet(details.getPassword()) ? RedisPassword.of(details.getPassword()) : RedisPassword.none());
    JedisClientConfiguration.JedisClientConfigurationBuilder builder = JedisClientConfiguration.builder();
    if (redis.getTimeout() != null) {
      builder.readTimeout(redis.getTimeout());
    }
    if (redis.getConnectTimeout() != null) {
      builder.connectTimeout(redis.getConnectTimeout());
    }
    if (redis.getClientName() != null) {
      builder.clientName(redis.getClientName());
    }
    SslBundle ssl = details.getSslBundle();
    if (ssl != null) {
      builder.useSsl().sslSocketFactory(ssl.createSslContext().getSocketFactory()).sslParameters(sslParameters(ssl));
    }
    builder.usePooling().poolConfig(poolConfig(redis.getJedis().getPool(), properties, environment));
    customizers.orderedStream().forEach(c -> c.customize(builder));
    return new FailoverJedisConnectionFactory(discovery, standalone, builder.build());
  }

  /** Message listener containers (Spring Session's indexed repository among them) re-subscribe on the new master through their own recovery. */
  @Bean
  static ListenerContainerRecovery redisMasterDiscoveryListenerContainerRecovery() {
    return new ListenerContainerRecovery();
  }

  /**
   * The pool settings of {@code spring.data.redis.jedis.pool.*}. Boot's default max-wait is to wait
   * forever; unless it is set, {@code redis-master-discovery.max-wait} bounds every borrow instead.
   */
  static JedisPoolConfig poolConfig(DataRedisProperties.Pool pool, RedisMasterDiscoveryProperties properties, Environment environment) {
    JedisPoolConfig config = new JedisPoolConfig();
    config.setMaxTotal(pool.getMaxActive());
    config.setMaxIdle(pool.getMaxIdle());
    config.setMinIdle(pool.getMinIdle());
    if (pool.getTimeBetweenEvictionRuns() != null) {
      config.setTimeBetweenEvictionRuns(pool.getTimeBetweenEvictionRuns());
    }
    boolean maxWaitSet = environment.containsProperty("spring.data.redis.jedis.pool.max-wait");
    config.setMaxWait(maxWaitSet && pool.getMaxWait() != null ? pool.getMaxWait() : properties.getMaxWait());
    return config;
  }

  private static SSLParameters sslParameters(SslBundle bundle) {
    SslOptions options = bundle.getOptions();
    SSLParameters parameters = new SSLParameters();
    if (options.getCiphers() != null) {
      parameters.setCipherSuites(options.getCiphers());
    }
    if (options.getEnabledProtocols() != null) {
      parameters.setProtocols(options.getEnabledProtocols());
    }
    return parameters;
  }

  /** Credentials, TLS and database for the discovery's own probes of the data nodes. */
  private static JedisClientConfig nodeClientConfig(DataRedisProperties redis, DataRedisConnectionDetails details) {
    DefaultJedisClientConfig.Builder b = DefaultJedisClientConfig.builder().database(redis.getDatabase());
    if (DiscoveryProperties.isSet(details.getUsername())) {
      b.user(details.getUsername());
    }
    if (DiscoveryProperties.isSet(details.getPassword())) {
      b.password(details.getPassword());
    }
    SslBundle ssl = details.getSslBundle();
    if (ssl != null) {
      b.ssl(true).sslSocketFactory(ssl.createSslContext().getSocketFactory()).sslParameters(sslParameters(ssl));
    }
    return b.build();
  }

  private static void refuseCluster(DataRedisProperties redis, DataRedisConnectionDetails details) {
    if (redis.getCluster() != null || details.getCluster() != null) {
      throw new RedisMasterDiscoveryConfigurationException("spring.data.redis.cluster.nodes",
          "Redis Cluster shards keys over several masters and fails over inside the cluster; there is no single master to discover",
          "Remove spring.data.redis.cluster.*, or set redis-master-discovery.enabled=false and use Boot's cluster support");
    }
  }

  private static void warnIgnored(Environment environment) {
    List<String> ignored = List.of("spring.data.redis.host", "spring.data.redis.port", "spring.data.redis.url").stream()
        .filter(environment::containsProperty).toList();
    if (!ignored.isEmpty()) {
      log.warn("{} {} ignored: redis-master-discovery finds the master (set redis-master-discovery.* instead; username, password, "
          + "database, SSL, timeouts and pool settings of spring.data.redis.* still apply)", ignored, ignored.size() == 1 ? "is" : "are");
    }
  }
}
