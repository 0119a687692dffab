package io.github.redismasterdiscovery.system;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.redismasterdiscovery.examples.spring.LocalCounterApplication;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * What an application must set to see the discovery's health (README, docs/operations.md), as
 * Spring Boot 4.0 behaves: exposing the health endpoint alone shows one overall status and no
 * {@code redisMasterDiscovery}; {@code show-components} lists it and opens its path;
 * {@code show-details} adds the master and sources; a readiness group can include it.
 */
class HealthEndpointIT {

  private static RedisHaTopology redis;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void topology() {
    redis = RedisHaTopology.builder().kubernetes(true).start();
  }

  @AfterAll
  static void close() {
    redis.close();
  }

  private HttpResponse<String> get(ConfigurableApplicationContext app, String path) throws Exception {
    URI uri = URI.create("http://127.0.0.1:" + app.getEnvironment().getProperty("local.server.port") + path);
    return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private ConfigurableApplicationContext start(String... settings) {
    List<String> args = new ArrayList<>(List.of("--server.port=0", "--spring.main.banner-mode=off",
        "--redis-master-discovery.startup-timeout=10s"));
    args.addAll(List.of(settings));
    if (args.stream().noneMatch(a -> a.startsWith("--management.endpoint.health.show-details="))) {
      args.add("--management.endpoint.health.show-details=never"); // Boot's default; CounterApplication's YAML says always
    }
    return LocalCounterApplication.start(redis, args.toArray(new String[0]));
  }

  @Test
  void exposingTheHealthEndpointAloneHidesTheIndicator() throws Exception {
    try (ConfigurableApplicationContext app = start()) {
      HttpResponse<String> health = get(app, "/actuator/health");
      assertThat(health.statusCode()).isEqualTo(200);
      assertThat(health.body()).contains("\"status\":\"UP\"").doesNotContain("redisMasterDiscovery");
      assertThat(get(app, "/actuator/health/redisMasterDiscovery").statusCode()).isEqualTo(404);
    }
  }

  @Test
  void showComponentsListsItAndShowDetailsAddsTheMaster() throws Exception {
    String master = redis.node(0).address().toString();
    try (ConfigurableApplicationContext app = start("--management.endpoint.health.show-components=always")) {
      assertThat(get(app, "/actuator/health").body()).contains("\"redisMasterDiscovery\":{\"status\":\"UP\"}");
      HttpResponse<String> component = get(app, "/actuator/health/redisMasterDiscovery");
      assertThat(component.statusCode()).isEqualTo(200);
      assertThat(component.body()).isEqualTo("{\"status\":\"UP\"}");
    }
    try (ConfigurableApplicationContext app = start("--management.endpoint.health.show-components=always",
        "--management.endpoint.health.show-details=always",
        "--management.endpoint.health.probes.enabled=true",
        "--management.endpoint.health.group.readiness.include=readinessState,redisMasterDiscovery")) {
      HttpResponse<String> component = get(app, "/actuator/health/redisMasterDiscovery");
      assertThat(component.body()).contains("\"master\":\"" + master + "\"").contains("\"sources\"");
      HttpResponse<String> readiness = get(app, "/actuator/health/readiness");
      assertThat(readiness.statusCode()).isEqualTo(200);
      assertThat(readiness.body()).contains("\"redisMasterDiscovery\"").contains("\"readinessState\"");
    }
  }
}
