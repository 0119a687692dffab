package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.github.redismasterdiscovery.testkit.PromotionWatch;
import io.github.redismasterdiscovery.testkit.RedisBinary;
import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.Protocol;

/**
 * The defects the discovery loop v2 fixes, each reproduced from the outside first: stalls taken
 * for failovers, heartbeats sharing a blocked thread, a noisy close, an unrelated Redis adopted,
 * errors that did not say why, a labeled replica promoted later found late, and idle cost.
 * Sentinel's {@code down-after} is 5 s here, so every stall below is shorter than it: Sentinel
 * itself never fails over, and neither may we.
 */
class DiscoveryLoopIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create(b -> {
    b.downAfter(Duration.ofSeconds(5)).failoverTimeout(Duration.ofSeconds(10));
    if (!RedisBinary.version().startsWith("6.")) {
      b.nodeConfig("enable-debug-command local"); // DEBUG SLEEP, refused by default since Redis 7
    }
  });

  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();

  @BeforeEach
  void captureLogs() {
    logs.start();
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(logs);
  }

  @AfterEach
  void releaseLogs() {
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(logs);
  }

  private List<String> warnings() {
    List<String> out = new ArrayList<>();
    for (ILoggingEvent e : List.copyOf(logs.list)) {
      if (e.getLevel().isGreaterOrEqual(Level.WARN) && e.getLoggerName().startsWith("io.github.redismasterdiscovery")
          && !e.getLoggerName().contains("testkit")) {
        out.add(e.getFormattedMessage());
      }
    }
    return out;
  }

  /** Pool connections that wait out a stall (5 s read timeout) rather than give up at 2 s. */
  private JedisClientConfig patientClient(RedisHaTopology t) {
    return DefaultJedisClientConfig.builder().from(t.clientConfig()).socketTimeoutMillis(5_000).build();
  }

  @Test
  void stallsShorterThanDownAfterAreNotFailovers() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess master = t.node(0);
    try (MasterDiscovery d = TestDiscoveries.labelsAndSentinels(t).clientConfig(t.clientConfig()).build();
        FailoverJedisPool pool = new FailoverJedisPool(d, FailoverJedisPoolIT.poolConfig(), patientClient(t))) {
      d.awaitMaster(Duration.ofSeconds(10));
      long generation = d.snapshot().generation();
      WriteLog log = new WriteLog();
      FailoverJedisPoolIT.Writers writers = new FailoverJedisPoolIT.Writers(8, key -> {
        log.attempts.incrementAndGet();
        try {
          pool.execute(j -> j.set(key, "v"));
          log.acks.add(new WriteLog.Ack(key, 0, System.nanoTime(), null));
        } catch (RuntimeException e) {
          log.errors.add(e.toString());
        }
      });
      await().atMost(Duration.ofSeconds(5)).until(() -> log.acks.size() > 200);
      try (Jedis admin = new Jedis(master.address(), patientClient(t))) {
        for (String seconds : List.of("0.5", "1.5", "3")) {
          d.checkNow(); // a round that meets the stall
          admin.sendCommand(() -> "DEBUG".getBytes(java.nio.charset.StandardCharsets.US_ASCII), "SLEEP", seconds); // the server stalls for that long
          int before = log.acks.size();
          await().atMost(Duration.ofSeconds(10)).until(() -> log.acks.size() > before + 200);
        }
      }
      master.freeze();
      d.checkNow();
      await().atMost(Duration.ofSeconds(5)).until(() -> d.snapshot().suspectSince().isPresent());
      assertThat(d.snapshot().master()).as("a silent master stays the master, marked suspect").contains(master.address());
      TimeUnit.SECONDS.sleep(3); // the stall itself: SIGSTOP for 3 s, below down-after
      master.unfreeze();
      int before = log.acks.size();
      await().atMost(Duration.ofSeconds(10)).until(() -> log.acks.size() > before + 200);
      writers.stopAndJoin();

      assertThat(d.snapshot().master()).contains(master.address());
      assertThat(d.snapshot().generation()).as("generation changes").isEqualTo(generation);
      assertThat(pool.failoverStats().failovers()).as("failovers counted").isZero();
      assertThat(pool.failoverStats().staleDiscarded()).as("stale connections discarded").isZero();
      assertThat(log.errors).as("errors surfaced (connections wait out the stall)").isEmpty();
      System.out.printf("stalls (DEBUG SLEEP 0.5/1.5/3 s, SIGSTOP 3 s) under 8 writers: %d writes, 0 errors, generation unchanged, %s%n",
          log.acks.size(), pool.failoverStats());
    }
  }

  @Test
  void aFrozenReplicaDoesNotMakeTheSentinelSourceFlap() throws Exception {
    RedisHaTopology t = ha.topology();
    t.labels().pause();
    t.labels().setLabel(1, "true"); // a labeled replica: asked every round
    try (MasterDiscovery d = TestDiscoveries.labelsAndSentinels(t).clientConfig(t.clientConfig())
        .sentinelHeartbeat(Duration.ofMillis(200)).probeTimeout(Duration.ofMillis(500)).verifyInterval(Duration.ofMillis(500)).build()) {
      d.awaitMaster(Duration.ofSeconds(10));
      await().atMost(Duration.ofSeconds(10)).until(() -> MasterDiscoveryIT.status(d, SourceKind.SENTINEL) == SourceState.Status.UP);
      t.node(1).freeze();
      try {
        // Rounds now wait on a silent node twice a second; the subscriptions must not notice.
        await().during(Duration.ofSeconds(6)).atMost(Duration.ofSeconds(7))
            .until(() -> MasterDiscoveryIT.status(d, SourceKind.SENTINEL) == SourceState.Status.UP);
      } finally {
        t.node(1).unfreeze();
      }
      assertThat(warnings()).noneMatch(w -> w.contains("SENTINEL source is"));
    }
  }

  @Test
  void closeTellsNoListenerAndLogsNoLoss() throws Exception {
    RedisHaTopology t = ha.topology();
    for (int i = 0; i < 20; i++) {
      ChangeRecorder changes = new ChangeRecorder();
      MasterDiscovery d = TestDiscoveries.labelsAndSentinels(t).clientConfig(t.clientConfig()).listener(changes).build();
      d.awaitMaster(Duration.ofSeconds(10));
      changes.next(5);
      d.checkNow();
      d.close();
      assertThat(changes.queue.poll(200, TimeUnit.MILLISECONDS)).as("run %d: a change after close", i).isNull();
    }
    assertThat(warnings()).noneMatch(w -> w.contains("lost"));
  }

  /**
   * A replica announces itself (replica-announce-ip/port) at the address of an unrelated Redis, so
   * the master's ROLE reply names that server; with the master gone and no source naming anyone,
   * only probing could find a "master" there, and it must not be adopted.
   */
  @Test
  void anUnrelatedRedisNamedByAReplicaListIsNeverAdopted() throws Exception {
    RedisHaTopology t = ha.topology();
    try (RedisHaTopology other = RedisHaTopology.builder().kubernetes(false).replicas(1).sentinels(1, 1).start()) {
      HostAndPort unrelated = other.node(0).address();
      try (Jedis replica = t.connect(t.node(1))) {
        replica.configSet("replica-announce-ip", unrelated.getHost());
        replica.configSet("replica-announce-port", Integer.toString(unrelated.getPort()));
        replica.sendCommand(Protocol.Command.CLIENT, "KILL", "TYPE", "master"); // reconnects and announces anew
      }
      try (Jedis master = t.connect(t.node(0))) {
        await().atMost(Duration.ofSeconds(10)).until(() -> JedisRoleProbe.parse(t.node(0).address(), master.role()).replicas().contains(unrelated));
      }
      t.sentinels().forEach(RedisProcess::kill); // nothing names a new master
      t.labels().pause();
      ChangeRecorder changes = new ChangeRecorder();
      try (MasterDiscovery d = TestDiscoveries.labels(t).clientConfig(t.clientConfig()).listener(changes).build()) {
        d.awaitMaster(Duration.ofSeconds(10));
        d.checkNow(); // a round in which the master lists the unrelated "replica"
        await().atMost(Duration.ofSeconds(5)).until(() -> d.snapshot().answers().size() >= 1);
        t.node(0).kill();
        await().atMost(Duration.ofSeconds(10)).until(() -> d.snapshot().conflict().filter(c -> c.contains(unrelated.toString())).isPresent());
        assertThat(d.snapshot().master()).isEmpty();
        assertThat(d.snapshot().conflict()).hasValueSatisfying(c -> assertThat(c).contains("only probing found it")
            .contains("no replication history"));
        assertThat(changes.all).noneMatch(c -> unrelated.equals(c.master()));
      }
    }
  }

  @Test
  void aWrongPasswordIsNamedInTheError() {
    JedisClientConfig wrong = DefaultJedisClientConfig.builder().password("not-the-password").build();
    try (RedisHaTopology t = RedisHaTopology.builder().password("the-password").start();
        MasterDiscovery d = TestDiscoveries.labels(t).clientConfig(wrong).build()) {
      assertThatThrownBy(() -> d.awaitMaster(Duration.ofSeconds(2)))
          .isInstanceOf(MasterUnavailableException.class)
          .hasMessageContaining(t.node(0).address() + ": ")
          .hasMessageMatching("(?s).*(WRONGPASS|NOAUTH|invalid password|AUTH).*")
          .hasMessageContaining("refused the user/password").hasMessageContaining("check the user and password in clientConfig")
          .hasMessageNotContaining("not-the-password");
    }
  }

  @Test
  void aNamespaceWithoutMatchingPodsSaysSo() {
    RedisHaTopology t = ha.topology();
    try (MasterDiscovery d = MasterDiscovery.builder().kubernetesLabels(LabelPreset.BITNAMI)
        .kubernetesSelector("app.kubernetes.io/instance=not-my-redis").namespace("redis")
        .kubernetesClient(t.kubernetes().newClient()).build()) {
      await().atMost(Duration.ofSeconds(10)).until(() -> MasterDiscoveryIT.status(d, SourceKind.KUBERNETES) == SourceState.Status.UP);
      assertThatThrownBy(() -> d.awaitMaster(Duration.ofMillis(500)))
          .isInstanceOf(MasterUnavailableException.class)
          .hasMessageContaining("0 pods match isMaster=true,app.kubernetes.io/instance=not-my-redis in namespace redis");
    }
  }

  /**
   * Some operators move the label before promoting. With rounds a minute apart, only the chase of
   * the newly labeled pod can find the promotion that follows.
   */
  @Test
  void aLabeledReplicaPromotedLaterIsFollowedWithoutWaitingForARound() throws Exception {
    RedisHaTopology t = ha.topology();
    t.sentinels().forEach(RedisProcess::kill); // an operator, not Sentinel, promotes here
    t.labels().pause();
    ChangeRecorder changes = new ChangeRecorder();
    try (MasterDiscovery d = TestDiscoveries.labels(t).clientConfig(t.clientConfig()).verifyInterval(Duration.ofMinutes(1))
        .listener(changes).build()) {
      d.awaitMaster(Duration.ofSeconds(10));
      changes.next(5);
      RedisProcess next = t.node(2);
      t.labels().setLabel(2, "true");
      t.labels().setLabel(0, "false");
      await().atMost(Duration.ofSeconds(5)).until(() -> d.snapshot().answers().containsKey(next.address()));
      assertThat(d.snapshot().master()).contains(t.node(0).address()); // still a replica: nothing to switch to yet
      PromotionWatch watch = PromotionWatch.start(t, List.of(next), Duration.ofSeconds(10));
      t.promote(next);
      ChangeRecorder.Change change = changes.nextTo(next.address(), 10);
      long promotedAt = watch.promotedAtNanos(Duration.ofSeconds(10));
      assertThat(change.current().source()).contains(SourceKind.KUBERNETES);
      System.out.printf("label moved first, promotion 100+ ms later: switch %d ms after the promotion%n",
          (change.atNanos() - promotedAt) / 1_000_000);
    }
  }

  @Test
  void anIdleDiscoveryAsksLittleHoldsOneConnectionPerServerAndAddsNoThreads() throws Exception {
    RedisHaTopology t = ha.topology();
    long threadsBefore = ChaosIT.rmdThreads();
    List<MasterDiscovery> ten = new ArrayList<>();
    // A refresh interval shorter than the window: the Sentinels are asked again only when one disagrees with the proven master.
    try (MasterDiscovery d = TestDiscoveries.labelsAndSentinels(t).clientConfig(t.clientConfig()).sentinelRefreshInterval(Duration.ofSeconds(1))
        .build()) {
      d.awaitMaster(Duration.ofSeconds(10));
      await().atMost(Duration.ofSeconds(10)).until(() -> d.snapshot().sources().values().stream()
          .allMatch(s -> s.status() == SourceState.Status.UP));
      long[] roleBefore = roleCalls(t);
      long[] connectionsBefore = t.sentinels().stream().mapToLong(sen -> connectionsReceived(t, sen)).toArray();
      long start = System.nanoTime();
      TimeUnit.SECONDS.sleep(20); // the observation window: an idle discovery, nothing happening
      long[] roleAfter = roleCalls(t);
      for (int i = 0; i < connectionsBefore.length; i++) {
        RedisProcess sentinel = t.sentinels().get(i);
        assertThat(connectionsReceived(t, sentinel) - connectionsBefore[i] - 1).as("new connections at Sentinel %s in 20 s at rest "
            + "(less the one that asks)", sentinel.address()).isZero();
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      for (int i = 0; i < roleAfter.length; i++) {
        double perSecond = (roleAfter[i] - roleBefore[i]) / seconds;
        System.out.printf("idle discovery: node %s got %.2f ROLE/s%n", t.node(i).address(), perSecond);
        assertThat(perSecond).as("ROLE/s at %s", t.node(i).address()).isLessThanOrEqualTo(0.5);
      }
      for (RedisProcess node : t.nodes()) {
        assertThat(connectionsNamed(t, node, JedisRoleProbe.CLIENT_NAME)).as("probe connections at %s", node.address()).isLessThanOrEqualTo(1);
      }
      for (RedisProcess sentinel : t.sentinels()) {
        assertThat(connectionsNamed(t, sentinel, SentinelLinks.CLIENT_NAME)).as("connections at Sentinel %s", sentinel.address()).isEqualTo(1);
      }
      long threadsOne = ChaosIT.rmdThreads() - threadsBefore;
      for (int i = 0; i < 10; i++) {
        ten.add(TestDiscoveries.labelsAndSentinels(t).clientConfig(t.clientConfig()).build());
      }
      for (MasterDiscovery m : ten) {
        m.awaitMaster(Duration.ofSeconds(10));
      }
      long threadsEleven = ChaosIT.rmdThreads() - threadsBefore;
      System.out.printf("rmd threads: %d for one discovery, %d for eleven%n", threadsOne, threadsEleven);
      assertThat(threadsEleven).as("threads for 11 discoveries").isLessThanOrEqualTo(Math.max(threadsOne, 3 + 1 + SharedRuntime.IO_THREADS + 1));
      for (RedisProcess sentinel : t.sentinels()) {
        assertThat(connectionsNamed(t, sentinel, SentinelLinks.CLIENT_NAME)).as("11 discoveries share one subscription").isEqualTo(1);
      }
    } finally {
      ten.forEach(MasterDiscovery::close);
    }
  }

  /**
   * A fleet's Sentinel connections: a discovery that watches one Sentinel of three holds one
   * subscription, says so in its health, and still follows a failover that another Sentinel led
   * (through its own Sentinel's {@code +switch-master} or the label move).
   */
  @Test
  void aDiscoveryWatchingOneSentinelHoldsOneSubscriptionAndStillFollowsAFailoverAnotherSentinelLed() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess master = t.awaitHealthy(Duration.ofSeconds(60));
    try (MasterDiscovery d = TestDiscoveries.labelsAndSentinels(t).clientConfig(t.clientConfig()).sentinelSubscriptions(1).build()) {
      d.awaitMaster(Duration.ofSeconds(10));
      await().atMost(Duration.ofSeconds(10)).until(() -> d.snapshot().sources().get(SourceKind.SENTINEL).status() == SourceState.Status.UP
          && d.snapshot().sources().get(SourceKind.SENTINEL).detail().startsWith("majority"));
      List<RedisProcess> watched = t.sentinels().stream().filter(s -> connectionsNamed(t, s, SentinelLinks.CLIENT_NAME) == 1).toList();
      long total = t.sentinels().stream().mapToLong(s -> connectionsNamed(t, s, SentinelLinks.CLIENT_NAME)).sum();
      assertThat(total).as("subscriptions over the 3 Sentinels").isEqualTo(1);
      assertThat(d.snapshot().sources().get(SourceKind.SENTINEL).detail()).contains("1 of 3 Sentinels").contains(watched.get(0).address().toString());
      RedisProcess leader = t.sentinels().stream().filter(s -> s != watched.get(0)).findFirst().orElseThrow();
      try (Jedis j = t.connect(leader)) {
        j.sentinelFailover(t.masterName());
      }
      await().atMost(Duration.ofSeconds(15)).until(() -> d.snapshot().master().filter(m -> !m.equals(master.address())).isPresent());
      assertThat(t.awaitAgreedMaster(Duration.ofSeconds(10)).address()).isEqualTo(d.snapshot().master().orElseThrow());
    }
  }

  private static long connectionsReceived(RedisHaTopology t, RedisProcess server) {
    try (Jedis j = t.connect(server)) {
      for (String line : j.info("stats").split("\r?\n")) {
        if (line.startsWith("total_connections_received:")) {
          return Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
        }
      }
      throw new IllegalStateException("no total_connections_received in INFO stats of " + server.address());
    }
  }

  private static long[] roleCalls(RedisHaTopology t) {
    long[] out = new long[t.nodes().size()];
    for (int i = 0; i < out.length; i++) {
      try (Jedis j = t.connect(t.node(i))) {
        for (String line : j.info("commandstats").split("\r?\n")) {
          if (line.startsWith("cmdstat_role:")) {
            out[i] = Long.parseLong(line.substring(line.indexOf("calls=") + 6, line.indexOf(',', line.indexOf("calls="))));
          }
        }
      }
    }
    return out;
  }

  private static long connectionsNamed(RedisHaTopology t, RedisProcess server, String name) {
    try (Jedis j = t.connect(server)) {
      return List.of(j.clientList().split("\n")).stream().filter(l -> l.contains(" name=" + name + " ")).count();
    }
  }
}
