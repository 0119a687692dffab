package io.github.redismasterdiscovery.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.redismasterdiscovery.MasterChangedException;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.event.EventListener;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.core.RedisCallback;
import org.springframework.data.redis.core.RedisOperations;
import org.springframework.data.redis.core.SessionCallback;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.data.redis.listener.ChannelTopic;
import org.springframework.data.redis.listener.RedisMessageListenerContainer;
import redis.clients.jedis.Jedis;

/**
 * Pub/sub in a Spring Boot app with the starter, configured with documented properties only (the
 * Sentinel source), as issue 17 tried it: a {@link RedisMessageListenerContainer} on a channel the
 * app publishes to every 20 ms, two template writers, through a {@code kill -9} and then a
 * {@code SENTINEL FAILOVER}. After each switch: one subscription on the new master, every message
 * published after it received exactly once, no template call slower than its timeout, and an
 * application listener of the switch that throws changes nothing; a {@code SessionCallback}
 * transaction and an {@code executePipelined} callback spanning the switch fail whole.
 */
class SpringPubSubIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create(b -> b.kubernetes(false));

  @SpringBootConfiguration
  @EnableAutoConfiguration
  static class App {
    final Received received = new Received();

    @Bean
    Received received() {
      return received;
    }

    @Bean
    RedisMessageListenerContainer eventsContainer(RedisConnectionFactory factory, Received received) {
      RedisMessageListenerContainer container = new RedisMessageListenerContainer();
      container.setConnectionFactory(factory);
      container.addMessageListener((message, pattern) -> received.seen.add(Long.parseLong(new String(message.getBody(), StandardCharsets.UTF_8))),
          new ChannelTopic("events"));
      return container;
    }

    /** An application's handler of the switch that fails: it must not stop pub/sub from following the master. */
    @EventListener
    void onSwitch(RedisMasterChangedEvent e) {
      received.events.add(e);
      if (e.isFailover()) {
        throw new IllegalStateException("an application handler failed");
      }
    }
  }

  static class Received {
    final List<Long> seen = new CopyOnWriteArrayList<>();
    final List<RedisMasterChangedEvent> events = new CopyOnWriteArrayList<>();
  }

  @Test
  void oneSubscriptionFollowsTheMasterThroughKillMinus9ThenSentinelFailover() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess first = t.awaitHealthy(Duration.ofSeconds(60));
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    logs.start();
    root.addAppender(logs);
    try (ConfigurableApplicationContext app = new SpringApplicationBuilder(App.class).web(WebApplicationType.NONE)
        .properties("spring.main.banner-mode=off",
            "redis-master-discovery.sentinel.nodes=" + String.join(",", t.sentinelAddresses().stream().map(Object::toString).toList()),
            "redis-master-discovery.sentinel.master-name=" + t.masterName(),
            "spring.data.redis.timeout=2s", "redis-master-discovery.startup-timeout=10s")
        .run()) {
      root.detachAppender(logs);
      assertThat(logs.list).as("no bean resolved from the discovery's thread while the context was starting")
          .noneMatch(e -> e.getFormattedMessage().contains("while other thread holds singleton lock"));
      assertThat(app.getBean(Received.class).events).as("the first master, announced once the context's singletons exist")
          .hasSize(1).allSatisfy(e -> assertThat(e.isFailover()).isFalse());
      MasterDiscovery discovery = app.getBean(MasterDiscovery.class);
      StringRedisTemplate template = app.getBean(StringRedisTemplate.class);
      Received received = app.getBean(Received.class);
      discovery.awaitMaster(Duration.ofSeconds(10));
      await().atMost(Duration.ofSeconds(10)).until(() -> t.subscribers(first, "events") == 1);

      AtomicLong published = new AtomicLong();
      AtomicLong slowest = new AtomicLong();
      ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
      AtomicBoolean stop = new AtomicBoolean();
      List<Thread> threads = new ArrayList<>();
      threads.add(new Thread(() -> {
        while (!stop.get()) {
          long start = System.nanoTime();
          try {
            template.convertAndSend("events", Long.toString(published.get()));
            published.incrementAndGet();
          } catch (RuntimeException e) {
            errors.add("publish: " + e.getMessage());
          }
          slowest.accumulateAndGet(System.nanoTime() - start, Math::max);
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
      }, "publisher"));
      for (int w = 0; w < 2; w++) {
        int id = w;
        threads.add(new Thread(() -> {
          for (long n = 0; !stop.get(); n++) {
            long start = System.nanoTime();
            try {
              template.opsForValue().set("w" + id + ":" + n, "v");
            } catch (RuntimeException e) {
              errors.add("write: " + e.getMessage());
            }
            slowest.accumulateAndGet(System.nanoTime() - start, Math::max);
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
          }
        }, "writer-" + w));
      }
      threads.forEach(Thread::start);
      try {
        await().atMost(Duration.ofSeconds(5)).until(() -> received.seen.size() > 20);

        first.kill();
        RedisProcess second = awaitNewMaster(t, first);
        await().atMost(Duration.ofSeconds(15)).until(() -> discovery.snapshot().master().filter(second.address()::equals).isPresent());
        long killSwitchAt = System.nanoTime();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5)).until(() -> t.subscribers(second, "events") == 1);
        System.out.printf("kill -9: subscription on the new master %d ms after the discovery switched%n",
            (System.nanoTime() - killSwitchAt) / 1_000_000);
        assertDeliveredOnceFromNowOn(received, published);
        first.start();
        // Sentinel sometimes fails over once more by itself while the restarted node resyncs: go on from whichever node is master.
        RedisProcess master = t.awaitHealthy(Duration.ofSeconds(60));
        await().atMost(Duration.ofSeconds(10)).until(() -> discovery.snapshot().master().filter(master.address()::equals).isPresent()
            && t.subscribers(master, "events") == 1);
        assertThat(t.subscribers(master, "events")).as("still one subscription, seconds later (no late recovery beside it)").isEqualTo(1);

        // A transaction and a pipeline that span the planned failover (SessionCallback, executePipelined).
        CountDownLatch switched = new CountDownLatch(1);
        CountDownLatch inside = new CountDownLatch(2);
        AtomicReference<Throwable> txFailure = new AtomicReference<>();
        AtomicReference<Throwable> pipeFailure = new AtomicReference<>();
        Thread tx = new Thread(() -> {
          try {
            template.execute(new SessionCallback<Object>() {
              @Override
              @SuppressWarnings("unchecked")
              public <K, V> Object execute(RedisOperations<K, V> operations) {
                RedisOperations<String, String> ops = (RedisOperations<String, String>) operations;
                ops.multi();
                ops.opsForValue().set("tx:a", "v");
                inside.countDown();
                awaitQuietly(switched);
                ops.opsForValue().set("tx:b", "v");
                return ops.exec();
              }
            });
          } catch (Throwable e) {
            txFailure.set(e);
          }
        }, "session-callback");
        Thread pipe = new Thread(() -> {
          try {
            template.executePipelined((RedisCallback<Object>) connection -> {
              connection.stringCommands().set("pipe:a".getBytes(StandardCharsets.UTF_8), "v".getBytes(StandardCharsets.UTF_8));
              inside.countDown();
              awaitQuietly(switched);
              connection.stringCommands().set("pipe:b".getBytes(StandardCharsets.UTF_8), "v".getBytes(StandardCharsets.UTF_8));
              return null;
            });
          } catch (Throwable e) {
            pipeFailure.set(e);
          }
        }, "pipelined");
        tx.start();
        pipe.start();
        assertThat(inside.await(10, TimeUnit.SECONDS)).isTrue();

        t.failover();
        RedisProcess third = awaitNewMaster(t, master);
        await().atMost(Duration.ofSeconds(15)).until(() -> discovery.snapshot().master().filter(third.address()::equals).isPresent());
        long planSwitchAt = System.nanoTime();
        switched.countDown();
        tx.join(10_000);
        pipe.join(10_000);
        assertThat(txFailure.get()).as("a transaction spanning the switch fails").isNotNull();
        assertThat(masterChanged(txFailure.get())).as("%s", txFailure.get()).hasMessageContaining("nothing of it ran");
        assertThat(pipeFailure.get()).as("a pipeline spanning the switch fails").isNotNull();
        assertThat(masterChanged(pipeFailure.get())).as("%s", pipeFailure.get()).isNotNull();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5)).until(() -> t.subscribers(third, "events") == 1);
        System.out.printf("SENTINEL FAILOVER: subscription on the new master %d ms after the discovery switched%n",
            (System.nanoTime() - planSwitchAt) / 1_000_000);
        assertDeliveredOnceFromNowOn(received, published);
        assertThat(t.subscribers(master, "events")).as("none left on the demoted master").isZero();
        RedisProcess last = t.awaitHealthy(Duration.ofSeconds(60));
        await().atMost(Duration.ofSeconds(10)).until(() -> t.subscribers(last, "events") == 1);
        for (RedisProcess n : t.nodes()) {
          assertThat(t.subscribers(n, "events")).as("subscriptions on %s", n).isEqualTo(n == last ? 1 : 0);
        }
        try (Jedis j = t.connect(last)) {
          assertThat(j.exists("tx:a", "tx:b", "pipe:b")).as("nothing of the transaction, not the refused pipeline command").isZero();
        }
      } finally {
        stop.set(true);
        for (Thread th : threads) {
          th.join(15_000);
          assertThat(th.isAlive()).as("%s stuck", th.getName()).isFalse();
        }
      }
      List<Long> duplicates = received.seen.stream().filter(n -> received.seen.indexOf(n) != received.seen.lastIndexOf(n)).distinct().toList();
      assertThat(duplicates).as("messages delivered twice").isEmpty();
      // maxWait (redis-master-discovery.max-wait, 2 s by default; a borrow and its command share it) plus the 2 s read timeout.
      assertThat(slowest.get()).as("slowest template call").isLessThan(TimeUnit.SECONDS.toNanos(8));
      System.out.printf("Spring pub/sub through kill -9 and SENTINEL FAILOVER: %d published, %d received, %d errors surfaced (%s)%n",
          published.get(), received.seen.size(), errors.size(), errors.stream().limit(3).toList());
    }
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The MasterChangedException in {@code e}'s cause chain (Spring wraps it), or null. */
  private static MasterChangedException masterChanged(Throwable e) {
    for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof MasterChangedException m) {
        return m;
      }
    }
    return null;
  }

  private static RedisProcess awaitNewMaster(RedisHaTopology t, RedisProcess old) {
    return await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(5)).until(() -> t.nodes().stream()
        .filter(n -> n != old && n.isRunning() && "master".equals(t.role(n))).findFirst().orElse(null), n -> n != null);
  }

  /** Every message published from now on (the next 20) is received. */
  private static void assertDeliveredOnceFromNowOn(Received received, AtomicLong published) {
    long from = published.get() + 1;
    await().atMost(Duration.ofSeconds(10)).until(() -> published.get() > from + 20);
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      for (long n = from; n < from + 20; n++) {
        assertThat(received.seen).contains(n);
      }
    });
  }
}
