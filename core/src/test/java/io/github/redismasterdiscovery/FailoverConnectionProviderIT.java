package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.redismasterdiscovery.testkit.PromotionWatch;
import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Connection;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.UnifiedJedis;

/** The ConnectionProvider and the retrying executor through a graceful failover, on Jedis 7 and 8. */
class FailoverConnectionProviderIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create(b -> b.labelLag(Duration.ofSeconds(1)));

  @Test
  void sentinelFailoverWithTheRetryingExecutorSurfacesNoError() throws Exception {
    RedisHaTopology t = ha.topology();
    ChangeRecorder changes = new ChangeRecorder();
    WriteLog log = new WriteLog();
    GenericObjectPoolConfig<Connection> config = new GenericObjectPoolConfig<>();
    config.setMaxTotal(16);
    config.setMaxWait(Duration.ofSeconds(5));
    try (MasterDiscovery d = FailoverJedisPoolIT.discovery(t, changes);
        FailoverConnectionProvider provider = new FailoverConnectionProvider(d, config, t.clientConfig());
        UnifiedJedis client = UnifiedClients.create(provider, new FailoverCommandExecutor(provider))) {
      RedisProcess old = t.node(0);
      d.awaitMaster(Duration.ofSeconds(10));
      FailoverJedisPoolIT.Writers writers = new FailoverJedisPoolIT.Writers(8, key -> {
        log.attempts.incrementAndGet();
        long start = System.nanoTime();
        try {
          client.set(key, "v");
          log.acks.add(new WriteLog.Ack(key, start, System.nanoTime(), null));
        } catch (RuntimeException e) {
          log.errors.add(e.getClass().getSimpleName() + ": " + e.getMessage());
        }
      });
      await().atMost(Duration.ofSeconds(5)).until(() -> log.acks.size() > 200);

      AtomicLong demotedAt = new AtomicLong();
      Thread demotion = demotionWatcher(t, old, demotedAt);
      PromotionWatch promotion = PromotionWatch.start(t, t.replicasOf(old), Duration.ofSeconds(20));
      t.failover();
      RedisProcess next = MasterDiscoveryIT.awaitNewMaster(t, old);
      ChangeRecorder.Change switched = changes.nextTo(next.address(), 15);
      demotion.join(20_000);
      long promotedAt = promotion.promotedAtNanos(Duration.ofSeconds(20));
      int before = log.acks.size();
      await().atMost(Duration.ofSeconds(10)).until(() -> log.acks.size() > before + 500);
      writers.stopAndJoin();

      assertThat(log.errors).as("errors surfaced to callers").isEmpty();
      await().atMost(Duration.ofSeconds(5)).until(() -> provider.numActive() == 0);
      await().atMost(Duration.ofSeconds(20)).until(() -> t.role(old).equals("slave")); // Sentinel demotes it at its 10 s INFO poll
      List<WriteLog.Ack> afterSwitch = log.startedAfter(switched.atNanos());
      assertThat(afterSwitch).isNotEmpty();
      assertThat(WriteLog.missing(t, next, afterSwitch)).as("writes begun after the switch, all on the new master").isEmpty();
      List<WriteLog.Ack> all = List.copyOf(log.acks);
      List<String> lost = WriteLog.missing(t, next, all);
      System.out.printf("SENTINEL FAILOVER with the retrying executor, 8 writers: %d errors of %d calls; our switch %d ms after the "
              + "promotion, old master demoted by Sentinel %d ms after our switch; %d of %d acknowledged writes missing on the new "
              + "master; stats %s%n",
          log.errors.size(), log.attempts.get(), (switched.atNanos() - promotedAt) / 1_000_000,
          (demotedAt.get() - switched.atNanos()) / 1_000_000, lost.size(), all.size(), provider.failoverStats());
      // The write fence: nothing started on the old master between the leader's announcement and our switch.
      assertThat(lost).as("acknowledged writes lost in Redis' failover window, without WAIT").isEmpty();
    }
  }

  @Test
  void plainProviderFollowsTheMaster() throws Exception {
    RedisHaTopology t = ha.topology();
    ChangeRecorder changes = new ChangeRecorder();
    try (MasterDiscovery d = FailoverJedisPoolIT.discovery(t, changes);
        FailoverConnectionProvider provider = new FailoverConnectionProvider(d, new GenericObjectPoolConfig<>(), t.clientConfig());
        UnifiedJedis client = UnifiedClients.create(provider, null)) {
      d.awaitMaster(Duration.ofSeconds(10));
      client.set("before", "1");
      t.failover();
      RedisProcess next = MasterDiscoveryIT.awaitNewMaster(t, t.node(0));
      changes.nextTo(next.address(), 15);
      client.set("after", "2");
      try (Jedis jedis = t.connect(next)) {
        assertThat(jedis.get("after")).isEqualTo("2");
      }
      assertThat(List.copyOf(provider.getConnectionMap().keySet())).isEqualTo(List.of(next.address()));
      assertThat(provider.failoverStats().failovers()).isEqualTo(1);
    }
  }

  /** Polls the old master's ROLE every millisecond and records when it first says slave. */
  static Thread demotionWatcher(RedisHaTopology t, RedisProcess old, AtomicLong demotedAt) {
    Thread watcher = new Thread(() -> {
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (System.nanoTime() < deadline) {
        if (t.role(old).equals("slave")) {
          demotedAt.set(System.nanoTime());
          return;
        }
        LockSupport.parkNanos(1_000_000);
      }
    }, "demotion-watcher");
    watcher.start();
    return watcher;
  }
}
