package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.Connection;
import redis.clients.jedis.ConnectionPool;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisPool;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.RedisProtocol;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * What a pool does with a connection whose node was demoted behind the discovery's back, and
 * what it keeps of Jedis' own behaviour. The discovery here knows only the first node and verifies
 * once a minute, so nothing but the pool itself can make it notice the demotion: a test that
 * passes proves the pool's own reaction, not the timing of a background check.
 */
class FailoverPoolContractIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create(b -> b.kubernetes(false));

  private RedisHaTopology t;

  @BeforeEach
  void quietTopology() {
    t = ha.topology();
    t.sentinels().forEach(RedisProcess::kill); // they would undo the hand-made demotion below
  }

  private MasterDiscovery slowDiscovery() {
    MasterDiscovery d = MasterDiscovery.builder()
        .nodes(t.node(0).address().toString())
        .clientConfig(t.clientConfig())
        .verifyInterval(Duration.ofMinutes(1))
        .build();
    d.awaitMaster(Duration.ofSeconds(10));
    return d;
  }

  private static GenericObjectPoolConfig<Jedis> onePerThread() {
    GenericObjectPoolConfig<Jedis> c = new GenericObjectPoolConfig<>();
    c.setMaxWait(Duration.ofSeconds(5));
    return c;
  }

  /** Operator-style: node 1 becomes master, node 0 (the one the discovery verified) its replica. */
  private void demoteNode0() {
    t.promote(t.node(1));
  }

  @Test
  void aConnectionThatGotReadonlyIsDestroyedOnCloseAndNeverHandedOutAgain() {
    try (MasterDiscovery d = slowDiscovery(); FailoverJedisPool pool = new FailoverJedisPool(d, onePerThread(), t.clientConfig())) {
      Jedis first;
      try (Jedis jedis = pool.getResource()) {
        first = jedis;
        jedis.set("k", "before");
      }
      assertThat(pool.getNumIdle()).isEqualTo(1);
      long destroyed = pool.getDestroyedCount();
      demoteNode0();

      try (Jedis jedis = pool.getResource()) {
        assertThat(jedis).isSameAs(first); // still the current generation: nobody has told the discovery yet
        assertThatThrownBy(() -> jedis.set("k", "after")).isInstanceOf(JedisDataException.class).hasMessageStartingWith("READONLY");
      }
      assertThat(pool.getDestroyedCount()).as("destroyed on close, before anyone could borrow it").isEqualTo(destroyed + 1);
      assertThat(pool.getNumIdle()).isZero();
      try (Jedis next = pool.getResource()) {
        assertThat(next).isNotSameAs(first);
        assertThat(next.set("k", "after")).isEqualTo("OK"); // READONLY made the discovery re-check: node 1 now
        assertThat(next.clientInfo()).contains("laddr=" + t.node(1).address());
      }
    }
  }

  @Test
  void executeDestroysAReadonlyConnectionBeforeItCanBeRetriedOn() {
    RetryPolicy noRetry = RetryPolicy.builder().deadline(Duration.ZERO).build();
    try (MasterDiscovery d = slowDiscovery(); FailoverJedisPool pool = new FailoverJedisPool(d, onePerThread(), t.clientConfig(), noRetry)) {
      pool.execute(j -> j.set("k", "before"));
      long destroyed = pool.getDestroyedCount();
      demoteNode0();
      assertThatThrownBy(() -> pool.execute(j -> j.set("k", "after"))).hasMessageStartingWith("READONLY");
      assertThat(pool.getNumIdle()).isZero();
      assertThat(pool.getDestroyedCount()).isEqualTo(destroyed + 1);
    }
  }

  /**
   * Found from the outside: a lambda whose second command failed (the master had changed) was not
   * retried, rightly, but surfaced "safe to retry" with mayHaveRun() false, though its first command ran.
   */
  @Test
  void aLambdaRefusedAfterItsFirstCommandRanIsNotRetriedAndSaysSo() {
    try (MasterDiscovery d = slowDiscovery(); FailoverJedisPool pool = new FailoverJedisPool(d, onePerThread(), t.clientConfig())) {
      AtomicInteger runs = new AtomicInteger();
      assertThatThrownBy(() -> pool.execute(j -> {
        runs.incrementAndGet();
        j.incr("a");
        awaitOnNode1("a"); // replication is asynchronous: the promoted node must have it before the demotion
        demoteNode0(); // between the two commands, and the discovery announces node 1 before the second
        d.checkNow();
        await().atMost(Duration.ofSeconds(10)).until(() -> d.snapshot().master().filter(t.node(1).address()::equals).isPresent());
        return j.set("b", "v");
      })).isInstanceOfSatisfying(MasterChangedException.class, e -> assertThat(e.mayHaveRun()).isTrue())
          .hasMessageContaining("1 earlier command of this work ran or may have run").hasMessageContaining("not retried")
          .hasMessageNotContaining("safe to retry");
      assertThat(runs).hasValue(1);
      try (Jedis j = t.connect(t.node(1))) {
        assertThat(j.get("a")).isEqualTo("1");
        assertThat(j.exists("b")).isFalse();
      }
    }
  }

  private void awaitOnNode1(String key) {
    try (Jedis node1 = t.connect(t.node(1))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> node1.exists(key));
    }
  }

  @Test
  void aLambdaThatGetsReadonlyAfterItsFirstCommandRanKeepsTheRepliesTextAndSaysWhyItWasNotRetried() {
    try (MasterDiscovery d = slowDiscovery(); FailoverJedisPool pool = new FailoverJedisPool(d, onePerThread(), t.clientConfig())) {
      AtomicInteger runs = new AtomicInteger();
      assertThatThrownBy(() -> pool.execute(j -> {
        runs.incrementAndGet();
        j.incr("a");
        demoteNode0(); // the discovery does not know yet: the second command reaches node 0, now a replica
        return j.set("b", "v");
      })).isInstanceOf(JedisDataException.class).hasMessageStartingWith("READONLY")
          .satisfies(e -> assertThat(e.getSuppressed()).anySatisfy(s -> assertThat(s).hasMessageContaining("1 earlier command")));
      assertThat(runs).hasValue(1);
    }
  }

  @Test
  void theProviderAndTheRetryingExecutorNeverPoolAReadonlyConnection() {
    RetryPolicy noRetry = RetryPolicy.builder().deadline(Duration.ZERO).build();
    try (MasterDiscovery d = slowDiscovery();
        FailoverConnectionProvider provider = new FailoverConnectionProvider(d, new GenericObjectPoolConfig<>(), t.clientConfig());
        UnifiedJedis client = UnifiedClients.create(provider, new FailoverCommandExecutor(provider, noRetry))) {
      client.set("k", "before");
      Connection first = provider.getConnection();
      first.close();
      assertThat(provider.numIdle()).isEqualTo(1);
      demoteNode0();

      assertThatThrownBy(() -> client.set("k", "after")).hasMessageStartingWith("READONLY");
      assertThat(provider.numIdle()).as("the executor's connection was destroyed, not pooled").isZero();
      try (Connection next = provider.getConnection()) {
        assertThat(next).isNotSameAs(first);
        assertThat(next.executeCommand(new CommandArguments(Protocol.Command.SET).add("k").add("after"))).isNotNull();
      }
    }
  }

  @Test
  void jedisPoolsOwnErrorPathInReturnResourceStillHasTheDiscoveryRecheck() {
    try (MasterDiscovery d = slowDiscovery(); FailoverJedisPool pool = new FailoverJedisPool(d, onePerThread(), t.clientConfig());
        Jedis admin = t.connect(t.node(0))) {
      Jedis jedis = pool.getResource();
      jedis.watch("k"); // returnResource will send UNWATCH
      long id = jedis.clientId();
      admin.clientKill(new redis.clients.jedis.params.ClientKillParams().id(Long.toString(id)));
      long rounds = d.roundsCompleted();
      long destroyed = pool.getDestroyedCount();
      jedis.close(); // UNWATCH fails: JedisPool.returnResource destroys it through its own error path
      assertThat(pool.getDestroyedCount()).isEqualTo(destroyed + 1);
      await("a re-check long before the 1 min verify interval").atMost(Duration.ofSeconds(10))
          .until(() -> d.roundsCompleted() > rounds);
    }
  }

  /** As a user who sets no protocol: Jedis' own default applies (RESP2 on Jedis 7, negotiated RESP3 on Jedis 8). */
  private JedisClientConfig jedisDefaultProtocol() {
    return DefaultJedisClientConfig.builder().from(t.clientConfig()).protocol(null).build();
  }

  @Test
  void connectionsSpeakTheProtocolJedisItselfWouldChoose() {
    JedisClientConfig config = jedisDefaultProtocol();
    try (MasterDiscovery d = slowDiscovery();
        FailoverJedisPool ours = new FailoverJedisPool(d, onePerThread(), config);
        JedisPool theirs = new JedisPool(onePerThread(), t.node(0).address(), config);
        FailoverConnectionProvider provider = new FailoverConnectionProvider(d, new GenericObjectPoolConfig<>(), config);
        ConnectionPool plain = new ConnectionPool(t.node(0).address(), config)) {
      String expected;
      try (Jedis j = theirs.getResource()) {
        expected = resp(j.clientInfo());
      }
      try (Jedis j = ours.getResource()) {
        assertThat(resp(j.clientInfo())).isEqualTo(expected);
      }
      String expectedRaw;
      try (Connection c = plain.getResource()) {
        expectedRaw = resp(clientInfo(c));
      }
      try (Connection c = provider.getConnection()) {
        assertThat(resp(clientInfo(c))).isEqualTo(expectedRaw);
      }
      System.out.printf("protocol with none configured, as Jedis' own pools choose it: %s (JedisPool), %s (ConnectionPool)%n", expected,
          expectedRaw);
    }
  }

  @Test
  void hashRepliesReadCorrectlyInEveryProtocolAcrossADemotion() {
    for (JedisClientConfig config : List.of(jedisDefaultProtocol(), t.clientConfig(),
        DefaultJedisClientConfig.builder().from(t.clientConfig()).protocol(RedisProtocol.RESP3).build())) {
      demoteBack();
      try (MasterDiscovery d = slowDiscovery();
          FailoverConnectionProvider provider = new FailoverConnectionProvider(d, new GenericObjectPoolConfig<>(), config);
          UnifiedJedis client = UnifiedClients.create(provider, new FailoverCommandExecutor(provider))) {
        client.del("h");
        client.hset("h", Map.of("a", "1", "b", "2"));
        assertThat(client.hgetAll("h")).as("protocol %s", config.getRedisProtocol()).isEqualTo(Map.of("a", "1", "b", "2"));
        demoteNode0();
        client.hset("h", Map.of("c", "3")); // READONLY, re-check, retried on node 1
        assertThat(client.hgetAll("h")).isEqualTo(Map.of("a", "1", "b", "2", "c", "3"));
        assertThat(d.snapshot().master()).contains(t.node(1).address());
      }
    }
  }

  /** Node 0 master again, the others its replicas, with everything node 1 accepted. */
  private void demoteBack() {
    t.promote(t.node(0));
    await().atMost(Duration.ofSeconds(10)).until(() -> t.replicasOf(t.node(0)).stream().allMatch(r -> t.role(r).equals("slave")));
  }

  private static String clientInfo(Connection c) {
    Object reply = c.executeCommand(new CommandArguments(Protocol.Command.CLIENT).add("INFO"));
    return reply instanceof byte[] ? new String((byte[]) reply, java.nio.charset.StandardCharsets.UTF_8) : String.valueOf(reply);
  }

  private static String resp(String clientInfo) {
    for (String field : clientInfo.trim().split(" ")) {
      if (field.startsWith("resp=")) {
        return field;
      }
    }
    throw new AssertionError("no resp= in " + clientInfo);
  }
}
