package io.github.redismasterdiscovery.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.testkit.RedisHaConnectionDetails;
import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.core.StringRedisTemplate;
import redis.clients.jedis.Jedis;

/**
 * A Boot application on the testkit's container topology that names no Redis property at all: the
 * topology's {@link RedisHaConnectionDetails} bean is all the starter gets, and its template writes
 * through a SENTINEL FAILOVER without losing an acknowledged write. Without a Docker engine this test
 * fails; it is never skipped.
 */
@Tag("containers")
class ContainerServiceConnectionIT {

  @RegisterExtension
  static final RedisHaExtension ha = RedisHaExtension.containers(b -> { });

  @SpringBootConfiguration
  @EnableAutoConfiguration
  static class App {
    /** The whole Redis configuration of this application. */
    @Bean
    RedisHaConnectionDetails redisConnectionDetails() {
      return RedisHaConnectionDetails.of(ha.topology());
    }
  }

  @Test
  void theStarterConnectsThroughTheConnectionDetailsAndFollowsAPlannedFailover() throws Exception {
    RedisHaTopology t = ha.topology();
    try (ConfigurableApplicationContext app = new SpringApplicationBuilder(App.class).web(WebApplicationType.NONE)
        .properties("spring.main.banner-mode=off").run()) {
      assertThat(app.getBean(RedisConnectionFactory.class)).isInstanceOf(FailoverJedisConnectionFactory.class);
      MasterDiscovery discovery = app.getBean(MasterDiscovery.class);
      assertThat(discovery.awaitMaster(Duration.ofSeconds(10))).isEqualTo(t.node(0).address());
      StringRedisTemplate template = app.getBean(StringRedisTemplate.class);
      template.opsForValue().set("boot:hello", "world");
      try (Jedis master = t.connect(t.node(0))) {
        assertThat(master.get("boot:hello")).isEqualTo("world");
      }

      ConcurrentLinkedQueue<String> acks = new ConcurrentLinkedQueue<>();
      ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
      AtomicBoolean stop = new AtomicBoolean();
      List<Thread> writers = new ArrayList<>();
      for (int w = 0; w < 2; w++) {
        int id = w;
        writers.add(new Thread(() -> {
          for (long n = 0; !stop.get(); n++) {
            String key = "boot:" + id + ":" + n;
            try {
              template.opsForValue().set(key, "v");
              acks.add(key);
            } catch (RuntimeException e) {
              errors.add(e.toString());
            }
            LockSupport.parkNanos(2_000_000);
          }
        }, "boot-writer-" + w));
      }
      writers.forEach(Thread::start);
      await().atMost(Duration.ofSeconds(5)).until(() -> acks.size() > 200);
      RedisProcess old = t.node(0);
      t.failover();
      RedisProcess next = await().atMost(Duration.ofSeconds(20)).until(() -> t.awaitAgreedMaster(Duration.ofSeconds(20)), m -> m != old);
      await().atMost(Duration.ofSeconds(10)).until(() -> discovery.snapshot().master().filter(next.address()::equals).isPresent());
      int before = acks.size();
      await().atMost(Duration.ofSeconds(10)).until(() -> acks.size() > before + 500);
      stop.set(true);
      for (Thread w : writers) {
        w.join(15_000);
      }
      // What the old master acknowledged late would vanish at its demotion (~10 s after the promotion): wait for it.
      await().atMost(Duration.ofSeconds(25)).until(() -> t.role(old).equals("slave"));
      long lost;
      try (Jedis master = t.connect(next)) {
        lost = acks.stream().filter(k -> !master.exists(k)).count();
      }
      System.out.printf("Boot on containers via ConnectionDetails, SENTINEL FAILOVER, 2 writers: %d of %d acknowledged writes lost, "
          + "%d errors surfaced%n", lost, acks.size(), errors.size());
      assertThat(lost).as("acknowledged writes lost on a planned failover").isZero();
    }
  }
}
