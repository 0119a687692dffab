package io.github.redismasterdiscovery.spring.lettuce;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.spring.FailoverLettuceConnectionFactory;
import io.github.redismasterdiscovery.testkit.PromotionWatch;
import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;

/**
 * A reactive application, as a user writes one: WebFlux on Netty, a handler that stores through
 * {@code ReactiveStringRedisTemplate}, the starter with documented properties only. HTTP clients PUT
 * items every 2 ms through {@code SENTINEL FAILOVER} and {@code kill -9}; a 200 is an acknowledged write.
 */
class ReactiveAppIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create(b -> b.labelLag(Duration.ofSeconds(1)));

  static final int CLIENTS = 2;

  @SpringBootConfiguration
  @EnableAutoConfiguration
  static class App {
    @Bean
    RouterFunction<ServerResponse> items(ReactiveStringRedisTemplate redis) {
      return RouterFunctions.route()
          .PUT("/items/{id}", request -> redis.opsForValue().set("item:" + request.pathVariable("id"), "v")
              .flatMap(stored -> ServerResponse.ok().bodyValue("stored")))
          .build();
    }
  }

  /** HTTP clients, each a PUT every 2 ms; a 200 is an acknowledged write. */
  static AckedWrites clients(int port) {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    AckedWrites writes = new AckedWrites();
    for (int c = 0; c < CLIENTS; c++) {
      String prefix = "c" + c + "-";
      writes.writer("http-client-" + c, n -> {
        String id = prefix + n;
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/items/" + id))
            .PUT(HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
          throw new IllegalStateException(r.statusCode() + " " + r.body());
        }
        return "item:" + id;
      });
    }
    return writes.start();
  }

  private static ConfigurableApplicationContext start(RedisHaTopology t, KubernetesClient k8s) {
    return new SpringApplicationBuilder(App.class).web(WebApplicationType.REACTIVE)
        .initializers(c -> c.getBeanFactory().registerSingleton("kubernetesClient", k8s))
        .properties("spring.main.banner-mode=off", "server.port=0", "server.address=127.0.0.1",
            "redis-master-discovery.kubernetes.preset=bitnami",
            "redis-master-discovery.kubernetes.namespace=" + t.kubernetes().namespace(),
            "redis-master-discovery.sentinel.nodes=" + String.join(",", t.sentinelAddresses().stream().map(Object::toString).toList()),
            "redis-master-discovery.sentinel.master-name=" + t.masterName(),
            "spring.data.redis.timeout=5s")
        .run();
  }

  private static int port(ConfigurableApplicationContext app) {
    return Integer.parseInt(app.getEnvironment().getProperty("local.server.port"));
  }

  @Test
  void aWebFluxAppLosesNoAcknowledgedWriteOnSentinelFailover() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess old = t.awaitHealthy(Duration.ofSeconds(60));
    try (KubernetesClient k8s = t.kubernetes().newClient(); ConfigurableApplicationContext app = start(t, k8s)) {
      app.getBean(MasterDiscovery.class).awaitMaster(Duration.ofSeconds(10));
      AckedWrites clients = clients(port(app));
      await().atMost(Duration.ofSeconds(10)).until(() -> clients.acks.size() > 200);
      PromotionWatch watch = PromotionWatch.start(t, t.replicasOf(old), Duration.ofSeconds(20));
      t.failover();
      RedisProcess next = SpringLettuceFailoverIT.awaitNewMaster(t, old);
      long promotedAt = watch.promotedAtNanos(Duration.ofSeconds(20));
      await().atMost(Duration.ofSeconds(10)).until(() -> clients.ackedAfter(promotedAt) > 300);
      clients.close();
      Set<String> lost = clients.missingOn(t, t.awaitAgreedMaster(Duration.ofSeconds(20)));
      long firstAfter = clients.acks.stream().mapToLong(AckedWrites.Ack::atNanos).filter(n -> n > promotedAt).min().orElseThrow() - promotedAt;
      System.out.printf("WebFlux + ReactiveStringRedisTemplate, SENTINEL FAILOVER, %d HTTP clients: promotion -> first 200 after it %.1f ms; "
          + "%d of %d acknowledged (200) writes missing from the new master; %d errors; %s%n", CLIENTS, firstAfter / 1e6, lost.size(),
          clients.acks.size(), clients.errors.size(), app.getBean(FailoverLettuceConnectionFactory.class).failoverStats().orElseThrow());
      assertThat(lost).as("acknowledged writes missing from the new master").isEmpty();
      assertThat(clients.errors).as("errors answered").isEmpty();
    }
  }

  @Test
  void aWebFluxAppAnswersAtMostTheWritesInFlightWithAnErrorOnKillMinus9() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess old = t.awaitHealthy(Duration.ofSeconds(60));
    try (KubernetesClient k8s = t.kubernetes().newClient(); ConfigurableApplicationContext app = start(t, k8s)) {
      app.getBean(MasterDiscovery.class).awaitMaster(Duration.ofSeconds(10));
      AckedWrites clients = clients(port(app));
      await().atMost(Duration.ofSeconds(10)).until(() -> clients.acks.size() > 200);
      long killedAt = System.nanoTime();
      old.kill();
      RedisProcess next = SpringLettuceFailoverIT.awaitNewMaster(t, old);
      long switchedSeen = System.nanoTime();
      await().atMost(Duration.ofSeconds(10)).until(() -> clients.ackedAfter(switchedSeen) > 300);
      clients.close();
      Set<String> missing = clients.missingOn(t, t.awaitAgreedMaster(Duration.ofSeconds(20)));
      long missingAfterKill = clients.acks.stream().filter(a -> a.atNanos() > killedAt && missing.contains(a.key())).count();
      System.out.printf("WebFlux + ReactiveStringRedisTemplate, kill -9, %d HTTP clients: %d errors answered %s; %d acknowledged before the "
          + "kill lost to asynchronous replication%n", CLIENTS, clients.errors.size(), clients.errors, missing.size());
      assertThat(clients.errors).as("errors answered: at most the writes in flight, one per client").hasSizeLessThanOrEqualTo(CLIENTS);
      assertThat(missingAfterKill).isZero();
    }
  }
}
