package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Acknowledged-write accounting across kill -9 and SENTINEL FAILOVER: every SET the caller saw
 * succeed is looked up on the final master. kill -9 without WAIT may lose some to asynchronous
 * replication (reported); with {@code waitForReplicas(1, ...)} none may be lost: Sentinel promotes the
 * replica with the largest replication offset, which holds every write any replica acknowledged.
 * SENTINEL FAILOVER loses none even without WAIT: the write fence stops writes to the old master
 * from the leader's announcement until the new master is proven. The control run writes through a
 * plain JedisPool on the old master, which Sentinel does not pause: the same accounting finds the
 * writes it acknowledged after the promotion missing.
 */
class WaitAccountingIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create();

  private static long[] killUnderWriters(RedisHaTopology t, RetryPolicy policy) throws Exception {
    return faultUnderWriters(t, policy, false, true);
  }

  /** Returns {lost acknowledged writes, acknowledged writes, errors surfaced}. */
  private static long[] faultUnderWriters(RedisHaTopology t, RetryPolicy policy, boolean graceful, boolean fence) throws Exception {
    WriteLog log = new WriteLog();
    try (MasterDiscovery d = TestDiscoveries.labelsAndSentinels(t).clientConfig(t.clientConfig()).writeFence(fence).build();
        FailoverJedisPool pool = new FailoverJedisPool(d, FailoverJedisPoolIT.poolConfig(), t.clientConfig(), policy)) {
      d.awaitMaster(Duration.ofSeconds(10));
      FailoverJedisPoolIT.Writers writers = new FailoverJedisPoolIT.Writers(4, key -> {
        log.attempts.incrementAndGet();
        long start = System.nanoTime();
        try {
          pool.execute(j -> j.set(key, "v"));
          log.acks.add(new WriteLog.Ack(key, start, System.nanoTime(), null));
        } catch (RuntimeException e) {
          log.errors.add(e.getClass().getSimpleName());
        }
      });
      await().atMost(Duration.ofSeconds(5)).until(() -> log.acks.size() > 500);
      RedisProcess old = t.master();
      if (graceful) {
        t.failover();
      } else {
        old.kill();
      }
      RedisProcess next = MasterDiscoveryIT.awaitNewMaster(t, old);
      int before = log.acks.size();
      await().atMost(Duration.ofSeconds(15)).until(() -> log.acks.size() > before + 500);
      writers.stopAndJoin();
      if (graceful) {
        // the old master keeps its stale writes until Sentinel demotes it (10 s INFO poll)
        await().atMost(Duration.ofSeconds(20)).until(() -> t.role(old).equals("slave"));
      }
      List<WriteLog.Ack> all = List.copyOf(log.acks);
      return new long[] {WriteLog.missing(t, next, all).size(), all.size(), log.errors.size()};
    }
  }

  @Test
  void withoutWaitAsyncReplicationMayLoseAcknowledgedWrites() throws Exception {
    long[] r = killUnderWriters(ha.topology(), RetryPolicy.defaults());
    System.out.printf("kill -9, no WAIT: %d of %d acknowledged writes lost to asynchronous replication, %d errors surfaced%n", r[0], r[1], r[2]);
    assertThat(r[1]).isGreaterThan(1000);
  }

  @Test
  void gracefulFailoverLosesNoAcknowledgedWriteBehindTheWriteFenceWhileAPlainPoolLosesSome() throws Exception {
    long[] fenced = faultUnderWriters(ha.topology(), RetryPolicy.defaults(), true, true);
    System.out.printf("SENTINEL FAILOVER, no WAIT, write fence: %d of %d acknowledged writes lost, %d errors surfaced%n",
        fenced[0], fenced[1], fenced[2]);
    assertThat(fenced[0]).as("acknowledged writes lost behind the write fence").isZero();
    assertThat(fenced[1]).isGreaterThan(1000);
    // The control: the same writers and the same accounting, through a plain JedisPool on the old master (no
    // discovery, no fence, no generations). It must find lost writes, or the zero above proves nothing.
    RedisHaTopology t = ha.topology();
    RedisProcess old = t.awaitHealthy(Duration.ofSeconds(60));
    WriteLog log = new WriteLog();
    try (redis.clients.jedis.JedisPool plain = new redis.clients.jedis.JedisPool(new redis.clients.jedis.JedisPoolConfig(),
        old.address(), t.clientConfig())) {
      FailoverJedisPoolIT.Writers writers = new FailoverJedisPoolIT.Writers(4, key -> {
        long start = System.nanoTime();
        try (redis.clients.jedis.Jedis j = plain.getResource()) {
          j.set(key, "v");
          log.acks.add(new WriteLog.Ack(key, start, System.nanoTime(), null));
        } catch (RuntimeException e) {
          log.errors.add(e.getClass().getSimpleName());
        }
      });
      await().atMost(Duration.ofSeconds(5)).until(() -> log.acks.size() > 500);
      t.failover();
      RedisProcess next = MasterDiscoveryIT.awaitNewMaster(t, old);
      // Write through the whole window in which the old master still acknowledges: until Sentinel demotes it.
      await().atMost(Duration.ofSeconds(30)).until(() -> t.role(old).equals("slave"));
      writers.stopAndJoin();
      long lost = WriteLog.missing(t, next, List.copyOf(log.acks)).size();
      System.out.printf("control, SENTINEL FAILOVER through a plain JedisPool on the old master: %d of %d acknowledged writes lost%n",
          lost, log.acks.size());
      assertThat(lost).as("the accounting detects writes the old master acknowledged after the promotion").isGreaterThan(0);
    }
  }

  @Test
  void withWaitForOneReplicaNoAcknowledgedWriteIsLost() throws Exception {
    long[] r = killUnderWriters(ha.topology(), RetryPolicy.builder().waitForReplicas(1, Duration.ofMillis(500)).build());
    System.out.printf("kill -9, WAIT 1: %d of %d acknowledged writes lost, %d errors surfaced%n", r[0], r[1], r[2]);
    assertThat(r[0]).as("acknowledged writes lost with WAIT 1").isZero();
    assertThat(r[1]).isGreaterThan(1000);
  }
}
