package io.github.redismasterdiscovery.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.SourceKind;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.connection.jedis.JedisConnectionFactory;
import org.springframework.data.redis.core.StringRedisTemplate;
import redis.clients.jedis.Jedis;

/** Every condition and binding of the auto-configuration; the discovery's only node is a closed port, so nothing connects. */
class RedisMasterDiscoveryAutoConfigurationTest {

  private final ApplicationContextRunner runner = new ApplicationContextRunner()
      .withConfiguration(AutoConfigurations.of(RedisMasterDiscoveryAutoConfiguration.class, RedisMasterDiscoveryHealthAutoConfiguration.class,
          RedisMasterDiscoveryMetricsAutoConfiguration.class, DataRedisAutoConfiguration.class))
      .withPropertyValues("redis-master-discovery.nodes=127.0.0.1:" + closedPort());

  static int closedPort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void aDiscoveryAndAFactoryThatFollowsItReplaceBootsJedisFactory() {
    runner.run(context -> {
      assertThat(context).hasSingleBean(MasterDiscovery.class).hasSingleBean(RedisConnectionFactory.class);
      assertThat(context.getBean(RedisConnectionFactory.class)).isInstanceOf(FailoverJedisConnectionFactory.class);
      assertThat(context).hasSingleBean(StringRedisTemplate.class); // Boot's templates sit on it
      FailoverJedisConnectionFactory factory = context.getBean(FailoverJedisConnectionFactory.class);
      assertThat(factory.discovery()).isSameAs(context.getBean(MasterDiscovery.class));
    });
  }

  @Test
  void theApplicationsOwnConnectionFactoryWins() {
    runner.withUserConfiguration(OwnFactory.class).run(context -> {
      assertThat(context).hasSingleBean(RedisConnectionFactory.class);
      assertThat(context.getBean(RedisConnectionFactory.class)).isNotInstanceOf(FailoverJedisConnectionFactory.class);
    });
  }

  @Configuration(proxyBeanMethods = false)
  static class OwnFactory {
    @Bean
    JedisConnectionFactory myFactory() {
      return new JedisConnectionFactory();
    }
  }

  @Test
  void clientTypeLettuceBacksOff() {
    runner.withPropertyValues("spring.data.redis.client-type=lettuce")
        .run(context -> assertThat(context).doesNotHaveBean(MasterDiscovery.class).doesNotHaveBean(FailoverJedisConnectionFactory.class));
  }

  @Test
  void disabledBacksOff() {
    runner.withPropertyValues("redis-master-discovery.enabled=false")
        .run(context -> assertThat(context).doesNotHaveBean(MasterDiscovery.class).doesNotHaveBean(FailoverJedisConnectionFactory.class));
  }

  @Test
  void withoutTheLibraryOrJedisOnTheClassPathItBacksOff() {
    runner.withClassLoader(new FilteredClassLoader(MasterDiscovery.class)).run(context -> assertThat(context).doesNotHaveBean("redisMasterDiscovery"));
    runner.withClassLoader(new FilteredClassLoader(Jedis.class)).run(context -> assertThat(context).doesNotHaveBean(MasterDiscovery.class));
  }

  @Test
  void propertiesBindToTheDiscoveryAndBootsSentinelSettingsFeedItsSentinelSource() {
    runner.withPropertyValues("spring.data.redis.sentinel.master=mymaster", "spring.data.redis.sentinel.nodes=127.0.0.1:1,127.0.0.1:2",
        "redis-master-discovery.verify-interval=7s").run(context -> {
          MasterDiscovery d = context.getBean(MasterDiscovery.class);
          assertThat(d.snapshot().sources()).containsKeys(SourceKind.SENTINEL, SourceKind.NODE_PROBE);
          assertThat(context.getBean(RedisMasterDiscoveryProperties.class).getVerifyInterval()).isEqualTo(Duration.ofSeconds(7));
        });
  }

  @Test
  void aBadPropertyStopsStartUpWithTheAnalyzersTextNamingIt() {
    runner.withPropertyValues("redis-master-discovery.sentinel.nodes=sentinel-without-port").run(context -> {
      assertThat(context).hasFailed();
      FailureAnalysis analysis = analyze(context.getStartupFailure());
      assertThat(analysis.getDescription()).contains("property 'redis-master-discovery.sentinel.nodes'").contains("sentinel-without-port")
          .contains("is not host:port");
      assertThat(analysis.getAction()).contains("redis-master-discovery.sentinel.nodes");
    });
  }

  @Test
  void externalAccessSettingsAreCheckedAgainstTheirProperties() {
    runner.withPropertyValues("redis-master-discovery.kubernetes.external-access.mode=node-ports").run(context -> {
      assertThat(context).hasFailed();
      FailureAnalysis analysis = analyze(context.getStartupFailure());
      assertThat(analysis.getDescription()).contains("redis-master-discovery.kubernetes.external-access.node-address")
          .contains("needs a node address");
    });
    runner.withPropertyValues("redis-master-discovery.kubernetes.external-access.mode=load-balancers",
        "redis-master-discovery.kubernetes.external-access.service-selector=no-equals-sign").run(context -> {
          assertThat(context).hasFailed();
          assertThat(analyze(context.getStartupFailure()).getDescription())
              .contains("redis-master-discovery.kubernetes.external-access.service-selector").contains("no-equals-sign");
        });
    // The builder's own rule (external access follows pods, so it needs the pod label source) is reported too.
    runner.withPropertyValues("redis-master-discovery.kubernetes.external-access.mode=load-balancers").run(context -> {
      assertThat(context).hasFailed();
      assertThat(analyze(context.getStartupFailure()).getDescription()).contains("without kubernetesLabels");
    });
  }

  @Test
  void noSourceAtAllSaysWhichPropertiesToSet() {
    new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(RedisMasterDiscoveryAutoConfiguration.class, DataRedisAutoConfiguration.class))
        .run(context -> {
          assertThat(context).hasFailed();
          FailureAnalysis analysis = analyze(context.getStartupFailure());
          assertThat(analysis.getDescription()).contains("no source configured");
          assertThat(analysis.getAction()).contains("redis-master-discovery.kubernetes.preset").contains("redis-master-discovery.sentinel.nodes");
        });
  }

  /** Found from the outside: out of a pod, the reason named the builder method and the action asked for "at least one source". */
  @Test
  void aMissingNamespaceOutsideAPodNamesThePropertyToSet() {
    try (io.fabric8.kubernetes.client.KubernetesClient noNamespace = new io.fabric8.kubernetes.client.KubernetesClientBuilder()
        .withConfig(io.fabric8.kubernetes.client.Config.empty()).build()) { // no kubeconfig; this machine is not a pod
      new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(RedisMasterDiscoveryAutoConfiguration.class, DataRedisAutoConfiguration.class))
        .withBean(io.fabric8.kubernetes.client.KubernetesClient.class, () -> noNamespace)
        .withPropertyValues("redis-master-discovery.kubernetes.preset=bitnami")
        .run(context -> {
          assertThat(context).hasFailed();
          FailureAnalysis analysis = analyze(context.getStartupFailure());
          assertThat(analysis.getDescription()).contains("no Kubernetes namespace").contains("redis-master-discovery.kubernetes.namespace")
              .doesNotContain("namespace(\"");
          assertThat(analysis.getAction()).contains("redis-master-discovery.kubernetes.namespace").doesNotContain("at least one source");
        });
    }
  }

  @Test
  void redisClusterIsRefusedWithTheReason() {
    runner.withPropertyValues("spring.data.redis.cluster.nodes=127.0.0.1:7000").run(context -> {
      assertThat(context).hasFailed();
      FailureAnalysis analysis = analyze(context.getStartupFailure());
      assertThat(analysis.getDescription()).contains("spring.data.redis.cluster.nodes").contains("no single master");
    });
  }

  @Test
  void startUpCanWaitForAMasterAndSaysWhyNoneCame() {
    runner.withPropertyValues("redis-master-discovery.startup-timeout=300ms").run(context -> {
      assertThat(context).hasFailed();
      FailureAnalysis analysis = analyze(context.getStartupFailure());
      assertThat(analysis.getDescription()).contains("redis-master-discovery.startup-timeout").contains("no verified Redis master within 300 ms")
          .contains("cannot connect");
    });
  }

  @Test
  void aNegativeStartupTimeoutIsNamedBeforeAnythingStarts() {
    runner.withPropertyValues("redis-master-discovery.startup-timeout=-1s").run(context -> {
      assertThat(context).hasFailed();
      FailureAnalysis analysis = analyze(context.getStartupFailure());
      assertThat(analysis.getDescription()).contains("redis-master-discovery.startup-timeout").contains("negative");
    });
  }

  @Test
  void bootsInfiniteMaxWaitIsReplacedByABoundUnlessSet() {
    runner.run(context -> assertThat(poolConfig(context.getBean(FailoverJedisConnectionFactory.class)).getMaxWaitDuration())
        .isEqualTo(Duration.ofSeconds(2)));
    runner.withPropertyValues("spring.data.redis.jedis.pool.max-wait=750ms", "spring.data.redis.jedis.pool.max-active=3")
        .run(context -> {
          GenericObjectPoolConfig<?> c = poolConfig(context.getBean(FailoverJedisConnectionFactory.class));
          assertThat(c.getMaxWaitDuration()).isEqualTo(Duration.ofMillis(750));
          assertThat(c.getMaxTotal()).isEqualTo(3);
        });
  }

  @Test
  void healthComesFromTheSnapshotAloneAndSaysWhy() {
    runner.run(context -> {
      Health health = context.getBean(RedisMasterDiscoveryHealthIndicator.class).health();
      assertThat(health.getStatus()).isEqualTo(Status.DOWN);
      assertThat(health.getDetails()).containsKeys("generation", "sources");
    });
    runner.withPropertyValues("management.health.redis-master-discovery.enabled=false")
        .run(context -> assertThat(context).doesNotHaveBean(RedisMasterDiscoveryHealthIndicator.class));
  }

  @Test
  void metersAreBound() {
    runner.run(context -> {
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      context.getBean(RedisMasterDiscoveryMetrics.class).bindTo(registry);
      assertThat(registry.get("redis.master.discovery.master.known").gauge().value()).isZero();
      assertThat(registry.get("redis.master.discovery.failovers").functionCounter().count()).isZero();
      assertThat(registry.get("redis.master.discovery.source.up").tag("source", "node_probe").gauge().value()).isEqualTo(1);
    });
  }

  private static GenericObjectPoolConfig<?> poolConfig(FailoverJedisConnectionFactory factory) {
    return factory.getClientConfiguration().getPoolConfig().orElseThrow();
  }

  private static FailureAnalysis analyze(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof RedisMasterDiscoveryConfigurationException e) {
        return new RedisMasterDiscoveryFailureAnalyzer().analyze(failure);
      }
    }
    throw new AssertionError("no RedisMasterDiscoveryConfigurationException in " + failure, failure);
  }
}
