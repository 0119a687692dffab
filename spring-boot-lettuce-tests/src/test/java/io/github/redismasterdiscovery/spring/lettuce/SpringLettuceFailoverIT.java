package io.github.redismasterdiscovery.spring.lettuce;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.spring.FailoverLettuceConnectionFactory;
import io.github.redismasterdiscovery.spring.RedisMasterChangedEvent;
import io.github.redismasterdiscovery.spring.RedisMasterDiscoveryHealthIndicator;
import io.github.redismasterdiscovery.testkit.PromotionWatch;
import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.boot.health.contributor.Status;
import org.springframework.context.annotation.Bean;
import org.springframework.context.event.EventListener;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.data.redis.listener.ChannelTopic;
import org.springframework.data.redis.listener.RedisMessageListenerContainer;
import redis.clients.jedis.Jedis;

/**
 * A Spring Boot application on Boot's default client, Lettuce, with the starter and only documented
 * properties: {@code StringRedisTemplate} and {@code ReactiveStringRedisTemplate} writers and a
 * {@code RedisMessageListenerContainer}, through {@code SENTINEL FAILOVER} and {@code kill -9}.
 */
class SpringLettuceFailoverIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create(b -> b.labelLag(Duration.ofSeconds(1)));

  @SpringBootConfiguration
  @EnableAutoConfiguration
  static class App {
    @Bean
    RedisMessageListenerContainer newsContainer(RedisConnectionFactory factory, News news) {
      RedisMessageListenerContainer container = new RedisMessageListenerContainer();
      container.setConnectionFactory(factory);
      container.addMessageListener((message, pattern) -> news.received.add(new String(message.getBody(), StandardCharsets.UTF_8)),
          new ChannelTopic("news"));
      return container;
    }

    @Bean
    News news() {
      return new News();
    }

    @Bean
    Failovers failovers() {
      return new Failovers();
    }
  }

  /** The application's own listener for the starter's events, as on Jedis. */
  static class Failovers {
    final List<RedisMasterChangedEvent> heard = new CopyOnWriteArrayList<>();

    @EventListener
    void on(RedisMasterChangedEvent e) {
      if (e.isFailover()) {
        heard.add(e);
      }
    }
  }

  static class News {
    final BlockingQueue<String> received = new LinkedBlockingQueue<>();
  }

  /** Two blocking template writers and two reactive ones, one command at a time each, a SET every 2 ms. */
  static AckedWrites writers(StringRedisTemplate template, ReactiveStringRedisTemplate reactive) {
    AckedWrites writes = new AckedWrites();
    for (int w = 0; w < 4; w++) {
      boolean isReactive = w >= 2;
      String prefix = (isReactive ? "reactive:" : "template:") + w + ":";
      writes.writer("writer-" + prefix, n -> {
        String key = prefix + n;
        if (isReactive) {
          reactive.opsForValue().set(key, "v").block(Duration.ofSeconds(30));
        } else {
          template.opsForValue().set(key, "v");
        }
        return key;
      });
    }
    return writes.start();
  }

  private static ConfigurableApplicationContext start(RedisHaTopology t, KubernetesClient k8s) {
    return new SpringApplicationBuilder(App.class).web(WebApplicationType.NONE)
        .initializers(c -> c.getBeanFactory().registerSingleton("kubernetesClient", k8s))
        .properties("spring.main.banner-mode=off",
            "redis-master-discovery.kubernetes.preset=bitnami",
            "redis-master-discovery.kubernetes.namespace=" + t.kubernetes().namespace(),
            "redis-master-discovery.sentinel.nodes=" + String.join(",", t.sentinelAddresses().stream().map(Object::toString).toList()),
            "redis-master-discovery.sentinel.master-name=" + t.masterName(),
            // How long a command may wait for a master: longer than a kill -9 failover (down-after 1 s + ~1.5 s).
            "spring.data.redis.timeout=5s")
        .run();
  }

  private static void assertNewsArrives(StringRedisTemplate template, News news, String when) throws InterruptedException {
    String text = "news " + when;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) { // the container may be subscribing again: publish until heard
      template.convertAndSend("news", text);
      String got = news.received.poll(100, TimeUnit.MILLISECONDS);
      if (text.equals(got)) {
        return;
      }
    }
    throw new AssertionError("no message on 'news' " + when + ": " + news.received);
  }

  @Test
  void blockingAndReactiveTemplatesLoseNoAcknowledgedWriteOnSentinelFailover() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess old = t.awaitHealthy(Duration.ofSeconds(60));
    try (KubernetesClient k8s = t.kubernetes().newClient(); ConfigurableApplicationContext app = start(t, k8s)) {
      assertThat(app.getBean(RedisConnectionFactory.class)).isInstanceOf(FailoverLettuceConnectionFactory.class);
      app.getBean(MasterDiscovery.class).awaitMaster(Duration.ofSeconds(10));
      StringRedisTemplate template = app.getBean(StringRedisTemplate.class);
      News news = app.getBean(News.class);
      assertNewsArrives(template, news, "before the failover");
      AckedWrites writers = writers(template, app.getBean(ReactiveStringRedisTemplate.class));
      await().atMost(Duration.ofSeconds(5)).until(() -> writers.acks.size() > 300);
      PromotionWatch watch = PromotionWatch.start(t, t.replicasOf(old), Duration.ofSeconds(20));
      t.failover();
      RedisProcess next = awaitNewMaster(t, old);
      long promotedAt = watch.promotedAtNanos(Duration.ofSeconds(20));
      await().atMost(Duration.ofSeconds(10)).until(() -> writers.ackedAfter(promotedAt) > 400);
      assertNewsArrives(template, news, "after the failover");
      writers.close();
      Set<String> lost = writers.missingOn(t, t.awaitAgreedMaster(Duration.ofSeconds(20)));
      long firstAfter = writers.acks.stream().mapToLong(AckedWrites.Ack::atNanos).filter(n -> n > promotedAt).min().orElseThrow() - promotedAt;
      FailoverLettuceConnectionFactory factory = app.getBean(FailoverLettuceConnectionFactory.class);
      System.out.printf("Spring on Lettuce, SENTINEL FAILOVER, 2 template + 2 reactive writers: promotion -> first ack after it %.1f ms; "
          + "%d of %d acknowledged writes missing from the new master; %d errors; %s%n", firstAfter / 1e6, lost.size(), writers.acks.size(),
          writers.errors.size(), factory.failoverStats().orElseThrow());
      assertThat(lost).as("acknowledged writes missing from the new master").isEmpty();
      assertThat(writers.errors).as("errors surfaced").isEmpty();
      assertThat(t.subscribers(next, "news")).as("one subscription, on the new master").isEqualTo(1);
      // Health and events come from the discovery, whichever client follows it.
      await().atMost(Duration.ofSeconds(5)).until(() -> app.getBean(Failovers.class).heard.size() == 1);
      assertThat(app.getBean(Failovers.class).heard.get(0).getCurrent().master()).contains(next.address());
      assertThat(app.getBean(RedisMasterDiscoveryHealthIndicator.class).health().getStatus()).isEqualTo(Status.UP);
      MeterRegistry meters = app.getBean(MeterRegistry.class);
      assertThat(meters.get("redis.master.discovery.failovers").functionCounter().count()).isEqualTo(1);
      assertThat(meters.get("redis.master.discovery.stale.discarded").functionCounter().count()).isGreaterThanOrEqualTo(1);
      assertThat(meters.get("redis.master.discovery.master.known").gauge().value()).isEqualTo(1);
    }
  }

  @Test
  void killMinus9SurfacesAtMostTheCommandsInFlight() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess old = t.awaitHealthy(Duration.ofSeconds(60));
    try (KubernetesClient k8s = t.kubernetes().newClient(); ConfigurableApplicationContext app = start(t, k8s)) {
      app.getBean(MasterDiscovery.class).awaitMaster(Duration.ofSeconds(10));
      StringRedisTemplate template = app.getBean(StringRedisTemplate.class);
      News news = app.getBean(News.class);
      assertNewsArrives(template, news, "before the kill");
      AckedWrites writers = writers(template, app.getBean(ReactiveStringRedisTemplate.class));
      await().atMost(Duration.ofSeconds(5)).until(() -> writers.acks.size() > 300);
      PromotionWatch watch = PromotionWatch.start(t, t.replicasOf(old), Duration.ofSeconds(20));
      long killedAt = System.nanoTime();
      old.kill();
      RedisProcess next = awaitNewMaster(t, old);
      long promotedAt = watch.promotedAtNanos(Duration.ofSeconds(20));
      await().atMost(Duration.ofSeconds(10)).until(() -> writers.ackedAfter(promotedAt) > 400);
      assertNewsArrives(template, news, "after the kill");
      writers.close();
      Set<String> missing = writers.missingOn(t, t.awaitAgreedMaster(Duration.ofSeconds(20)));
      long missingAfterKill = writers.acks.stream().filter(a -> a.atNanos() > killedAt && missing.contains(a.key())).count();
      long firstAfter = writers.acks.stream().mapToLong(AckedWrites.Ack::atNanos).filter(n -> n > promotedAt).min().orElseThrow() - promotedAt;
      System.out.printf("Spring on Lettuce, kill -9, 4 writers: promotion %d ms after the kill, first ack %.1f ms after it; %d errors: %s; "
          + "%d acknowledged before the kill lost to asynchronous replication%n", (promotedAt - killedAt) / 1_000_000, firstAfter / 1e6,
          writers.errors.size(), writers.errors, missing.size());
      assertThat(writers.errors).as("errors surfaced: at most the commands in flight, one per writer").hasSizeLessThanOrEqualTo(4);
      assertThat(missingAfterKill).as("acknowledged after the kill, yet missing from the new master").isZero();
      assertThat(t.subscribers(next, "news")).as("one subscription, on the new master").isEqualTo(1);
    }
  }

  static RedisProcess awaitNewMaster(RedisHaTopology t, RedisProcess old) {
    return await().atMost(Duration.ofSeconds(20)).until(() -> t.awaitAgreedMaster(Duration.ofSeconds(20)), m -> m != old);
  }
}
