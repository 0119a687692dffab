package io.github.redismasterdiscovery.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.health.contributor.Status;
import org.springframework.cache.annotation.Cacheable;
import org.springframework.cache.annotation.EnableCaching;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.event.EventListener;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.core.RedisTemplate;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.data.redis.listener.ChannelTopic;
import org.springframework.data.redis.listener.RedisMessageListenerContainer;
import org.springframework.data.redis.serializer.RedisSerializer;
import org.springframework.session.Session;
import org.springframework.session.SessionRepository;
import org.springframework.session.data.redis.RedisSessionRepository;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

/**
 * A real Spring Boot application (auto-configuration, {@code StringRedisTemplate}, a Redis
 * {@code @Cacheable} service, Spring Session's default Redis repository) on the testkit's topology,
 * labels and Sentinels, through a SENTINEL FAILOVER, a kill -9, and a label moved to a replica.
 */
class SpringFailoverIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create(b -> b.labelLag(Duration.ofSeconds(1)));

  static final int WRITERS = 4;

  @SpringBootConfiguration
  @EnableAutoConfiguration
  @EnableCaching
  static class App {
    @Bean
    Squares squares() {
      return new Squares();
    }

    @Bean
    RedisSessionRepository sessionRepository(RedisConnectionFactory factory) {
      // The repository Boot's session auto-configuration creates in a web application (repository-type=default).
      RedisTemplate<String, Object> template = new RedisTemplate<>();
      template.setConnectionFactory(factory);
      template.setKeySerializer(RedisSerializer.string());
      template.setHashKeySerializer(RedisSerializer.string());
      template.afterPropertiesSet();
      return new RedisSessionRepository(template);
    }

    @Bean
    Switches switches() {
      return new Switches();
    }

    /** A pub/sub subscriber, as Spring Session's indexed repository has one. */
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
  }

  static class News {
    final BlockingQueue<String> received = new LinkedBlockingQueue<>();
  }

  /** A service with a Redis cache. */
  static class Squares {
    final AtomicInteger computed = new AtomicInteger();

    @Cacheable("squares")
    public Long square(Long n) {
      computed.incrementAndGet();
      return n * n;
    }

    /** Through a method: the bean is a caching proxy, whose own fields are not this one's. */
    public int computed() {
      return computed.get();
    }
  }

  /** Master changes as the application hears them. */
  static class Switches {
    record Heard(RedisMasterChangedEvent event, long atNanos) {}

    final List<Heard> events = new CopyOnWriteArrayList<>();

    @EventListener
    void on(RedisMasterChangedEvent e) {
      events.add(new Heard(e, System.nanoTime()));
    }

    /** When the application heard of the failover to {@code master}, or null. */
    Long failoverTo(HostAndPort master) {
      return events.stream().filter(h -> h.event().isFailover() && h.event().getCurrent().master().filter(master::equals).isPresent())
          .map(Heard::atNanos).reduce((earlier, later) -> later).orElse(null); // the latest: a node can become master twice
    }

    List<String> describe() {
      return events.stream().map(h -> h.event().getPrevious().master().map(Object::toString).orElse("none") + " -> "
          + h.event().getCurrent().master().map(Object::toString).orElse("none") + (h.event().isFailover() ? " (failover)" : "")).toList();
    }
  }

  record Ack(String key, long startNanos) {}

  @Test
  void templatesCachesAndSessionsFollowTheMaster() throws Exception {
    RedisHaTopology t = ha.topology();
    KubernetesClient k8s = t.kubernetes().newClient();
    try (ConfigurableApplicationContext app = new SpringApplicationBuilder(App.class).web(WebApplicationType.NONE)
        .initializers(c -> c.getBeanFactory().registerSingleton("kubernetesClient", k8s))
        .properties("spring.main.banner-mode=off",
            "redis-master-discovery.kubernetes.preset=bitnami",
            "redis-master-discovery.kubernetes.namespace=" + t.kubernetes().namespace(),
            "redis-master-discovery.sentinel.nodes=" + String.join(",", t.sentinelAddresses().stream().map(Object::toString).toList()),
            "redis-master-discovery.sentinel.master-name=" + t.masterName(),
            "spring.data.redis.timeout=2s", "spring.data.redis.jedis.pool.max-active=16", "spring.cache.type=redis")
        .run()) {
      MasterDiscovery discovery = app.getBean(MasterDiscovery.class);
      StringRedisTemplate template = app.getBean(StringRedisTemplate.class);
      Squares squares = app.getBean(Squares.class);
      SessionRepository<?> sessions = app.getBean(RedisSessionRepository.class);
      Switches switches = app.getBean(Switches.class);
      MeterRegistry meters = app.getBean(MeterRegistry.class);
      RedisMasterDiscoveryHealthIndicator health = app.getBean(RedisMasterDiscoveryHealthIndicator.class);
      News news = app.getBean(News.class);
      assertNewsArrives(template, news, "before any failover");
      assertThat(app.getBean(RedisConnectionFactory.class)).isInstanceOf(FailoverJedisConnectionFactory.class);
      discovery.awaitMaster(Duration.ofSeconds(10));

      ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
      ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
      ConcurrentLinkedQueue<Status> healthSeen = new ConcurrentLinkedQueue<>();
      AtomicBoolean stop = new AtomicBoolean();
      List<Thread> threads = new ArrayList<>();
      for (int w = 0; w < WRITERS; w++) {
        int id = w;
        threads.add(new Thread(() -> {
          for (long n = 0; !stop.get(); n++) {
            String key = "spring:" + id + ":" + n;
            long start = System.nanoTime();
            try {
              template.opsForValue().set(key, "v");
              acks.add(new Ack(key, start));
            } catch (RuntimeException e) {
              errors.add(e.toString());
            }
            LockSupport.parkNanos(2_000_000);
          }
        }, "spring-writer-" + w));
      }
      threads.add(new Thread(() -> {
        while (!stop.get()) {
          healthSeen.add(health.health().getStatus());
          LockSupport.parkNanos(5_000_000);
        }
      }, "health-poller"));
      threads.forEach(Thread::start);
      await().atMost(Duration.ofSeconds(5)).until(() -> acks.size() > 200);
      assertThat(squares.square(12L)).isEqualTo(144L);
      String before = saveSession(sessions, "alice");

      // 1. SENTINEL FAILOVER: Sentinel promotes a replica; the old master lives on until it is demoted.
      RedisProcess first = t.master();
      t.failover();
      RedisProcess second = awaitSwitch(t, discovery, first);
      checkAfterSwitch(t, second, switches, acks, 1, meters);
      assertThat(errors).as("errors surfaced through a SENTINEL FAILOVER").hasSizeLessThanOrEqualTo(WRITERS);
      assertThat(userOf(sessions, before)).as("a session saved before the failover").isEqualTo("alice");
      assertThat(squares.square(12L)).isEqualTo(144L);
      assertThat(healthSeen).as("health through a graceful failover").doesNotContain(Status.DOWN);
      assertNewsArrives(template, news, "after the graceful failover");
      int errorsBefore = errors.size();

      // 2. kill -9: no master until Sentinel promotes one; health says so meanwhile. Kill whichever node is master now
      // (on a busy 2-core box Sentinel sometimes fails over by itself while the demoted master resyncs).
      RedisProcess victim = t.awaitHealthy(Duration.ofSeconds(60));
      await().atMost(Duration.ofSeconds(10)).until(() -> discovery.snapshot().master().filter(victim.address()::equals).isPresent());
      healthSeen.clear();
      victim.kill();
      RedisProcess third = awaitSwitch(t, discovery, victim);
      checkAfterSwitch(t, third, switches, acks, 2, meters);
      assertThat(errors.size() - errorsBefore).as("errors surfaced through a kill -9 (commands in flight)").isLessThanOrEqualTo(WRITERS);
      assertThat(healthSeen).as("health while there was no master, and after").contains(Status.DOWN);
      await().atMost(Duration.ofSeconds(5)).until(() -> health.health().getStatus().equals(Status.UP));
      assertThat(userOf(sessions, saveSession(sessions, "bob"))).isEqualTo("bob");
      assertThat(squares.square(13L)).isEqualTo(169L);
      assertThat(squares.square(13L)).isEqualTo(169L);
      assertNewsArrives(template, news, "after kill -9");
      int computed = squares.computed();

      // 3. The label moves to a replica with no failover: labels only propose, ROLE decides.
      victim.start();
      t.awaitHealthy(Duration.ofSeconds(60));
      t.labels().pause();
      int errorsBeforeLabel = errors.size();
      long failoversBeforeLabel = switches.events.stream().filter(h -> h.event().isFailover()).count();
      int eventsBeforeLabel = switches.events.size();
      int replica = t.nodeIndex(t.replicasOf(third).get(0).address());
      t.labels().setLabel(replica, "true");
      t.labels().setLabel(t.nodeIndex(third.address()), "false");
      await().atMost(Duration.ofSeconds(5)).until(() -> discovery.snapshot().answers().containsKey(t.node(replica).address()));
      int ackCount = acks.size();
      await().atMost(Duration.ofSeconds(5)).until(() -> acks.size() > ackCount + 200);
      assertThat(squares.square(13L)).isEqualTo(169L);
      assertThat(squares.computed()).as("served from the Redis cache").isEqualTo(computed);
      RedisProcess agreed = t.awaitAgreedMaster(Duration.ofSeconds(30));
      assertThat(discovery.snapshot().master()).as("the master the Sentinels agree on, never the labeled replica").contains(agreed.address());
      List<Switches.Heard> heard = List.copyOf(switches.events);
      assertThat(heard.subList(eventsBeforeLabel, heard.size())).as("no switch to the labeled replica")
          .noneMatch(h -> h.event().getCurrent().master().filter(t.node(replica).address()::equals).isPresent() && agreed != t.node(replica));
      if (agreed == third) {
        assertThat(errors.size()).isEqualTo(errorsBeforeLabel);
        assertThat(switches.events.stream().filter(h -> h.event().isFailover()).count()).as("no failover for a label move")
            .isEqualTo(failoversBeforeLabel);
        assertThat(meters.get("redis.master.discovery.failovers").functionCounter().count()).isEqualTo(failoversBeforeLabel);
      } else {
        // With down-after 1 s, a master busy with the restarted node's full resynchronization can be voted down:
        // Sentinel made a failover of its own meanwhile, which the discovery followed (asserted above).
        System.out.printf("Sentinel failed over by itself during the label move: %s -> %s%n", third.address(), agreed.address());
        assertThat(errors.size() - errorsBeforeLabel).isLessThanOrEqualTo(WRITERS);
      }

      stop.set(true);
      for (Thread th : threads) {
        th.join(10_000);
      }
      System.out.printf("Spring Boot app through SENTINEL FAILOVER, kill -9 and a label move: %d writes, %d errors surfaced, events %d%n",
          acks.size(), errors.size(), switches.events.size());
    }
  }

  /** A message published now (on the current master) reaches the subscriber: its subscription followed the master. */
  private static void assertNewsArrives(StringRedisTemplate template, News news, String when) throws InterruptedException {
    String text = "news " + when + " " + System.nanoTime();
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline) {
      template.convertAndSend("news", text); // again until heard: the subscription may still be on its way
      String got = news.received.poll(200, TimeUnit.MILLISECONDS);
      if (text.equals(got)) {
        news.received.clear();
        return;
      }
    }
    throw new AssertionError("no message on channel 'news' reached the subscriber " + when);
  }

  private static <S extends Session> String saveSession(SessionRepository<S> repository, String user) {
    S session = repository.createSession();
    session.setAttribute("user", user);
    repository.save(session);
    return session.getId();
  }

  private static <S extends Session> String userOf(SessionRepository<S> repository, String id) {
    S session = repository.findById(id);
    return session == null ? null : session.getAttribute("user");
  }

  private static RedisProcess awaitSwitch(RedisHaTopology t, MasterDiscovery discovery, RedisProcess old) {
    RedisProcess next = await().atMost(Duration.ofSeconds(20)).ignoreExceptions()
        .until(() -> t.awaitAgreedMaster(Duration.ofSeconds(20)), m -> m != old);
    await().atMost(Duration.ofSeconds(10)).until(() -> discovery.snapshot().master().filter(next.address()::equals).isPresent());
    return next;
  }

  /** Every write begun after the application heard of the switch is on the new master; the failover counter moved by one. */
  private static void checkAfterSwitch(RedisHaTopology t, RedisProcess next, Switches switches, ConcurrentLinkedQueue<Ack> acks, int failovers,
      MeterRegistry meters) {
    await().atMost(Duration.ofSeconds(10)).until(() -> switches.failoverTo(next.address()) != null);
    long switchedAt = switches.failoverTo(next.address());
    // One count per change of server the application heard of: usually one per fault, but Sentinel may fail over twice in a row
    // (a second leader in a later epoch promoting another replica), and then both are real.
    long heard = switches.events.stream().filter(h -> h.event().isFailover()).count();
    assertThat(heard).as("changes heard: %s", switches.describe()).isGreaterThanOrEqualTo(failovers);
    assertThat(meters.get("redis.master.discovery.failovers").functionCounter().count()).as("failovers counted; changes heard: %s",
        switches.describe()).isEqualTo(heard);
    await().atMost(Duration.ofSeconds(10)).until(() -> acks.stream().filter(a -> a.startNanos() > switchedAt).count() > 200);
    List<Ack> afterSwitch = acks.stream().filter(a -> a.startNanos() > switchedAt).toList();
    try (Jedis j = t.connect(next)) {
      List<String> missing = afterSwitch.stream().map(Ack::key).filter(k -> !j.exists(k)).toList();
      assertThat(missing).as("writes begun after the switch missing on the new master %s; changes heard: %s", next.address(),
          switches.describe()).isEmpty();
    }
  }
}
