package io.github.redismasterdiscovery.lettuce;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.github.redismasterdiscovery.LabelPreset;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.lettuce.Writers.Api;
import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Jedis;

/** What else an application does with a {@link FailoverRedisClient} connection, through real failovers. */
class FailoverRedisClientPatternsIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create(b -> b.labelLag(Duration.ofSeconds(1)));

  /**
   * A subscriber and a {@code BLPOP 0} waiting on the old master through {@code SENTINEL FAILOVER}:
   * at the switch the BLPOP fails at once (it may have run: a pop is a write) instead of waiting on a
   * node about to be demoted, and the subscription moves to the new master by itself, where messages
   * published after the switch arrive exactly once; nothing stays subscribed on the old master. A
   * transaction opened on the old master fails whole at {@code EXEC}, and nothing of it runs anywhere.
   */
  @Test
  void aSubscriberABlockedBlpopAndAnOpenTransactionThroughTheSwitch() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess old = t.awaitHealthy(Duration.ofSeconds(60));
    try (KubernetesClient k = t.kubernetes().newClient(); MasterDiscovery d = TestSetup.labelsAndSentinels(t, k).build()) {
      FailoverRedisClient client = FailoverRedisClient.create(d, TestSetup.settings(t));
      try (StatefulRedisPubSubConnection<String, String> sub = client.connectPubSub();
          StatefulRedisConnection<String, String> blocker = client.connect();
          StatefulRedisConnection<String, String> tx = client.connect()) {
        BlockingQueue<String> received = new LinkedBlockingQueue<>();
        sub.addListener(new RedisPubSubAdapter<>() {
          @Override
          public void message(String channel, String message) {
            received.add(message);
          }
        });
        sub.sync().subscribe("events");
        RedisFuture<KeyValue<String, String>> blpop = blocker.async().blpop(0, "queue");
        await().atMost(Duration.ofSeconds(10)).until(() -> t.blockedClients(old) == 1 && t.subscribers(old, "events") == 1);
        try (Jedis j = t.connect(old)) {
          j.publish("events", "before");
        }
        assertThat(received.poll(5, TimeUnit.SECONDS)).isEqualTo("before");

        tx.sync().multi();
        tx.sync().set("tx:a", "1"); // queued on the old master

        t.failover();
        RedisProcess next = TestSetup.awaitNewMaster(t, old);
        await().pollInterval(Duration.ofMillis(1)).atMost(Duration.ofSeconds(10)).until(() -> client.failoverStats().failovers() == 1);
        long switchedAt = System.nanoTime();
        assertThatThrownBy(() -> blpop.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
            .cause().isInstanceOfSatisfying(MasterSwitchedException.class, e -> assertThat(e.mayHaveRun()).isTrue());
        await().pollInterval(Duration.ofMillis(1)).atMost(Duration.ofSeconds(5)).until(() -> t.subscribers(next, "events") == 1);
        long resubscribedMs = (System.nanoTime() - switchedAt) / 1_000_000;
        try (Jedis j = t.connect(next)) {
          j.publish("events", "after-1");
          j.publish("events", "after-2");
        }
        List<String> after = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
          after.add(received.poll(5, TimeUnit.SECONDS));
        }
        assertThat(after).containsExactly("after-1", "after-2");
        assertThat(received.poll(200, TimeUnit.MILLISECONDS)).as("a message delivered twice").isNull();
        assertThat(t.subscribers(old, "events")).as("subscriptions left on the old master").isZero();
        assertThat(t.subscribers(next, "events")).isEqualTo(1);

        // The transaction opened on the old master fails whole at EXEC; nothing of it ran anywhere; the connection goes on.
        tx.sync().set("tx:b", "2");
        assertThatThrownBy(() -> tx.sync().exec()).isInstanceOfSatisfying(MasterSwitchedException.class,
            e -> assertThat(e.mayHaveRun()).isFalse());
        tx.sync().set("tx:after", "3");
        try (Jedis j = t.connect(next); Jedis o = t.connect(old)) {
          assertThat(j.exists("tx:a", "tx:b")).as("transaction commands on the new master").isZero();
          assertThat(o.exists("tx:a", "tx:b")).as("transaction commands on the old master").isZero();
          assertThat(j.get("tx:after")).isEqualTo("3");
        }

        RedisFuture<KeyValue<String, String>> again = blocker.async().blpop(0, "queue");
        await().atMost(Duration.ofSeconds(5)).until(() -> t.blockedClients(next) == 1);
        try (Jedis j = t.connect(next)) {
          j.rpush("queue", "element");
        }
        assertThat(again.get(5, TimeUnit.SECONDS).getValue()).isEqualTo("element");
        System.out.printf("pub/sub subscribed on the new master within %d ms of the switch being seen; BLPOP failed at the switch; %s%n",
            resubscribedMs, client.failoverStats());
      } finally {
        client.shutdown();
      }
    }
  }

  /**
   * The master stalls for less than Sentinel's {@code down-after-milliseconds} (frozen 600 ms of
   * 1000): no failover, so the client keeps its connections; commands wait out the stall and none
   * fails or is lost.
   */
  @Test
  void aStallShorterThanDownAfterMovesNothingAndLosesNothing() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess master = t.awaitHealthy(Duration.ofSeconds(60));
    try (KubernetesClient k = t.kubernetes().newClient(); MasterDiscovery d = TestSetup.labelsAndSentinels(t, k).build()) {
      FailoverRedisClient client = FailoverRedisClient.create(d, TestSetup.settings(t));
      try (StatefulRedisConnection<String, String> c = client.connect()) {
        Writers writers = Writers.start(c, Api.SYNC, Api.ASYNC, Api.REACTIVE);
        await().atMost(Duration.ofSeconds(5)).until(() -> writers.acks.size() > 300);
        long frozenAt = System.nanoTime();
        master.freeze();
        try {
          // The stall itself (SIGSTOP, 600 ms): meanwhile the client must not move.
          await().during(Duration.ofMillis(600)).atMost(Duration.ofSeconds(1)).until(() -> client.failoverStats().closedAtSwitch() == 0);
        } finally {
          master.unfreeze();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> writers.ackedAfter(frozenAt) > 600);
        writers.close();
        List<String> lost = writers.missingOn(t, t.awaitAgreedMaster(Duration.ofSeconds(20)));
        System.out.printf("stall of 600 ms (down-after 1000 ms): longest pause between acks %d ms; %d lost; %d errors; %s%n",
            writers.longestPauseAfter(frozenAt) / 1_000_000, lost.size(), writers.failures.size(), client.failoverStats());
        assertThat(t.awaitAgreedMaster(Duration.ofSeconds(10))).as("Sentinel did not fail over").isSameAs(master);
        assertThat(client.failoverStats().failovers()).isZero();
        assertThat(client.failoverStats().closedAtSwitch()).isZero();
        assertThat(writers.failures).as("errors surfaced:\n  %s", writers.failureSummary()).isEmpty();
        assertThat(lost).isEmpty();
      } finally {
        client.shutdown();
      }
    }
  }

  /**
   * A failover that only the pod labels announce (no Sentinel source, so no write fence): when the
   * label moves, the client moves, and every write acknowledged after that is on the new master.
   */
  @Test
  void aLabelMoveThroughTheKubernetesApiMovesTheClient() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess old = t.awaitHealthy(Duration.ofSeconds(60));
    try (KubernetesClient k = t.kubernetes().newClient();
        MasterDiscovery d = MasterDiscovery.builder().kubernetesLabels(LabelPreset.BITNAMI).namespace(t.kubernetes().namespace())
            .kubernetesClient(k).clientConfig(t.clientConfig()).build()) {
      FailoverRedisClient client = FailoverRedisClient.create(d, TestSetup.settings(t));
      try (StatefulRedisConnection<String, String> c = client.connect()) {
        Writers writers = Writers.start(c, Api.SYNC, Api.ASYNC, Api.REACTIVE);
        await().atMost(Duration.ofSeconds(5)).until(() -> writers.acks.size() > 300);
        t.failover();
        RedisProcess next = TestSetup.awaitNewMaster(t, old);
        await().atMost(Duration.ofSeconds(10)).until(() -> next.address().equals(t.labels().appliedMaster()));
        await().atMost(Duration.ofSeconds(10)).until(() -> client.failoverStats().failovers() == 1);
        long switchedAt = System.nanoTime();
        await().atMost(Duration.ofSeconds(10)).until(() -> writers.ackedAfter(switchedAt) > 300);
        writers.close();
        java.util.Set<String> missing = new java.util.HashSet<>(writers.missingOn(t, t.awaitAgreedMaster(Duration.ofSeconds(20))));
        long missingAfterSwitch = writers.acks.stream().filter(a -> a.atNanos() > switchedAt && missing.contains(a.key())).count();
        System.out.printf("labels only (no fence), SENTINEL FAILOVER, label moved 1 s late: %d of %d acknowledged writes missing from the "
            + "new master (acknowledged by the old one before the label moved), %d after the switch; %d errors; %s%n",
            missing.size(), writers.acks.size(), missingAfterSwitch, writers.failures.size(), client.failoverStats());
        assertThat(missingAfterSwitch).as("acknowledged after the client moved, yet missing from the new master").isZero();
        // No fence: a write in flight on the old master when the label moved fails, saying it may have run (one per writer at most).
        assertThat(writers.failures).as("errors surfaced:\n  %s", writers.failureSummary()).hasSizeLessThanOrEqualTo(3)
            .allSatisfy(f -> assertThat(f.error()).isInstanceOf(MasterSwitchedException.class));
      } finally {
        client.shutdown();
      }
    }
  }
}
