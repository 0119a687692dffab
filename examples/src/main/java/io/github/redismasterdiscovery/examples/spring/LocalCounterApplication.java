package io.github.redismasterdiscovery.examples.spring;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Collectors;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.support.GenericApplicationContext;
import org.springframework.core.env.MapPropertySource;

/**
 * {@link CounterApplication} on a laptop: starts the testkit's topology (3 redis-server, 3
 * Sentinels, a Kubernetes mock API whose {@code isMaster} label lags Sentinel by 1 s) and the
 * application on it. In a cluster the same application runs with the {@code kubernetes} profile
 * ({@code application-kubernetes.yaml}) instead.
 *
 * <p>Run: {@code ./mvnw -B -q install -DskipTests && ./mvnw -B -q -pl examples exec:java
 * -Dexec.mainClass=io.github.redismasterdiscovery.examples.spring.LocalCounterApplication}, then
 * {@code curl -X POST localhost:8080/hits/home}.
 */
public final class LocalCounterApplication {

  private LocalCounterApplication() {}

  public static void main(String[] args) {
    RedisHaTopology redis = RedisHaTopology.builder().labelLag(Duration.ofSeconds(1)).start();
    Runtime.getRuntime().addShutdownHook(new Thread(redis::close));
    start(redis, args);
  }

  /**
   * Starts {@link CounterApplication} on {@code redis}: the starter's discovery watches its pods'
   * labels through the mock API (the application's {@link KubernetesClient} bean is used when there
   * is one) and subscribes to its Sentinels. Closing the context closes the discovery; {@code redis}
   * stays up.
   */
  public static ConfigurableApplicationContext start(RedisHaTopology redis, String... args) {
    Map<String, Object> topology = Map.of(
        "redis-master-discovery.kubernetes.preset", "bitnami",
        "redis-master-discovery.kubernetes.namespace", redis.kubernetes().namespace(),
        "redis-master-discovery.sentinel.nodes", redis.sentinelAddresses().stream().map(Object::toString).collect(Collectors.joining(",")),
        "redis-master-discovery.sentinel.master-name", redis.masterName());
    return new SpringApplicationBuilder(CounterApplication.class)
        .initializers(context -> {
          context.getEnvironment().getPropertySources().addFirst(new MapPropertySource("local-redis-topology", topology));
          ((GenericApplicationContext) context).registerBean(KubernetesClient.class, () -> redis.kubernetes().newClient());
        })
        .run(args);
  }
}
