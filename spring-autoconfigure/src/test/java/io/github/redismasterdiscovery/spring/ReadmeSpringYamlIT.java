package io.github.redismasterdiscovery.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.PropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.data.redis.core.StringRedisTemplate;

/**
 * The README's Spring YAML, pasted as it is on a laptop whose Redis has no password and where
 * {@code REDIS_PASSWORD} is not set: the placeholders resolve to empty, empty means no AUTH, and the
 * application starts and writes. Only the addresses change (the README's are a cluster's).
 */
class ReadmeSpringYamlIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create();

  @SpringBootConfiguration
  @EnableAutoConfiguration
  static class App {}

  /** The README's first YAML block with both {@code spring:} and {@code redis-master-discovery:}. */
  static String readmeYaml() throws IOException {
    Path readme = Path.of(System.getProperty("rmd.root", ".."), "README.md");
    Matcher m = Pattern.compile("```yaml\\n(.*?)```", Pattern.DOTALL).matcher(Files.readString(readme));
    while (m.find()) {
      if (m.group(1).contains("redis-master-discovery:") && m.group(1).startsWith("spring:")) {
        return m.group(1);
      }
    }
    throw new AssertionError("no Spring YAML with spring: and redis-master-discovery: in " + readme);
  }

  /** The README's settings, no environment variables at all, the topology's Sentinels instead of the cluster's. */
  private StandardEnvironment environment(RedisHaTopology t, Map<String, Object> overrides) throws IOException {
    StandardEnvironment env = new StandardEnvironment();
    env.getPropertySources().remove(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME); // REDIS_PASSWORD unset, whatever this machine has
    for (PropertySource<?> source : new YamlPropertySourceLoader().load("README.md", new ByteArrayResource(readmeYaml().getBytes()))) {
      env.getPropertySources().addLast(source);
    }
    String sentinels = t.sentinelAddresses().stream().map(Object::toString).collect(Collectors.joining(","));
    Map<String, Object> here = new java.util.HashMap<>(Map.of("redis-master-discovery.sentinel.nodes", sentinels));
    here.putAll(overrides);
    env.getPropertySources().addFirst(new MapPropertySource("this machine's addresses", here));
    return env;
  }

  private ConfigurableApplicationContext start(RedisHaTopology t, StandardEnvironment env) {
    KubernetesClient k8s = t.kubernetes().newClient();
    return new SpringApplicationBuilder(App.class).web(WebApplicationType.NONE).environment(env)
        .initializers(c -> c.getBeanFactory().registerSingleton("kubernetesClient", k8s))
        .properties("spring.main.banner-mode=off")
        .run();
  }

  @Test
  void theReadmesYamlStartsWithoutEnvironmentVariablesAgainstARedisWithoutPassword() throws IOException {
    RedisHaTopology t = ha.topology();
    StandardEnvironment env = environment(t, Map.of());
    try (ConfigurableApplicationContext app = start(t, env)) {
      assertThat(app.getEnvironment().getProperty("spring.data.redis.password")).as("the placeholder's default").isEmpty();
      assertThat(app.getEnvironment().getProperty("redis-master-discovery.sentinel.password")).isEmpty();
      assertThat(app.getBean(MasterDiscovery.class).snapshot().master()).contains(t.node(0).address());
      StringRedisTemplate redis = app.getBean(StringRedisTemplate.class);
      redis.opsForValue().set("readme", "works");
      assertThat(redis.opsForValue().get("readme")).isEqualTo("works");
    }
  }

  @Test
  void aPasswordForARedisWithoutOneStopsStartUpAtOnceNamingTheProperties() throws IOException {
    RedisHaTopology t = ha.topology();
    // REDIS_PASSWORD set, Redis and its Sentinels without one: both refuse it.
    StandardEnvironment env = environment(t, Map.of("REDIS_PASSWORD", "not-needed"));
    long start = System.nanoTime();
    Throwable failure = catchThrowable(() -> start(t, env).close());
    assertThat(Duration.ofNanos(System.nanoTime() - start)).as("not the README's startup-timeout of 30 s").isLessThan(Duration.ofSeconds(10));
    assertThat(failure).hasRootCauseInstanceOf(RedisMasterDiscoveryConfigurationException.class);
    RedisMasterDiscoveryConfigurationException e = (RedisMasterDiscoveryConfigurationException) rootCause(failure);
    assertThat(e.getProperty()).isEqualTo("redis-master-discovery.sentinel.password, spring.data.redis.password");
    assertThat(e.getReason()).contains("the Sentinel has no password, but one was sent").contains("the Redis node has no password, but one was sent");
    assertThat(e.getAction()).contains("remove redis-master-discovery.sentinel.password or leave it empty")
        .contains("remove spring.data.redis.password or leave it empty");
  }

  private static Throwable rootCause(Throwable t) {
    Throwable c = t;
    while (c.getCause() != null && c.getCause() != c) {
      c = c.getCause();
    }
    return c;
  }
}
