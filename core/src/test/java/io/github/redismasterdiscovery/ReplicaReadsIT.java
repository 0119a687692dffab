package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import io.github.redismasterdiscovery.testkit.TcpForwarder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Connection;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.UnifiedJedis;

/**
 * Reads from replicas (ReplicaReads) against real replicas: where reads go, a lagging, frozen or
 * killed replica, a failover, and the staleness bound, checked read by read.
 */
class ReplicaReadsIT {

  private static final Duration MAX_STALENESS = Duration.ofSeconds(1);

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create(b -> b.labelLag(Duration.ofMillis(200)));

  private static GenericObjectPoolConfig<Connection> poolConfig() {
    GenericObjectPoolConfig<Connection> c = new GenericObjectPoolConfig<>();
    c.setMaxTotal(16);
    c.setMaxWait(Duration.ofSeconds(5));
    return c;
  }

  private static FailoverConnectionProvider provider(MasterDiscovery d, RedisHaTopology t, ReadFrom readFrom) {
    return new FailoverConnectionProvider(d, poolConfig(), t.clientConfig(), ReplicaReads.from(readFrom).maxStaleness(MAX_STALENESS));
  }

  /** GET calls each node served since its stats were last reset. */
  private static long getsServed(RedisHaTopology t, RedisProcess node) {
    return infoCount(t, node, "commandstats", "cmdstat_get:calls=");
  }

  /** The number after {@code prefix} in a line of {@code INFO section} (up to a comma or the line's end), or 0. */
  private static long infoCount(RedisHaTopology t, RedisProcess node, String section, String prefix) {
    try (Jedis j = t.connect(node)) {
      for (String line : j.info(section).split("\r?\n")) {
        if (line.startsWith(prefix)) {
          int end = line.indexOf(',');
          return Long.parseLong(line.substring(prefix.length(), end < 0 ? line.length() : end).trim());
        }
      }
      return 0;
    }
  }

  private static void resetStats(RedisHaTopology t) {
    for (RedisProcess node : t.nodes()) {
      try (Jedis j = t.connect(node)) {
        j.configResetStat();
      }
    }
  }

  @Test
  void readsSpreadOverTheProvenReplicasAndWritesGoToTheMaster() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess master = t.awaitHealthy(Duration.ofSeconds(60));
    List<RedisProcess> replicas = t.replicasOf(master);
    try (MasterDiscovery d = TestDiscoveries.labelsAndSentinels(t).clientConfig(t.clientConfig()).build();
        FailoverConnectionProvider provider = provider(d, t, ReadFrom.REPLICA);
        UnifiedJedis client = UnifiedClients.create(provider, new FailoverCommandExecutor(provider))) {
      d.awaitMaster(Duration.ofSeconds(10));
      await().atMost(Duration.ofSeconds(10)).until(() -> provider.readReplicas().size() == replicas.size());
      assertThat(provider.readReplicas()).containsExactlyInAnyOrderElementsOf(replicas.stream().map(RedisProcess::address).toList());
      resetStats(t);
      client.set("greeting", "hello"); // a write: to the master, whatever ReadFrom says
      int reads = 300;
      for (int i = 0; i < reads; i++) {
        client.get("greeting");
      }
      assertThat(getsServed(t, master)).as("GETs the master served").isZero();
      long total = 0;
      for (RedisProcess r : replicas) {
        long served = getsServed(t, r);
        assertThat(served).as("GETs %s served", r).isPositive();
        total += served;
      }
      assertThat(total).isEqualTo(reads);
      try (Jedis j = t.connect(master)) {
        assertThat(j.get("greeting")).isEqualTo("hello");
      }
      assertThat(provider.toString()).contains("readFrom=REPLICA").doesNotContain(t.password() == null ? "\0" : t.password());
    }
  }

  /**
   * One writer increments a counter on the master while readers read it from replicas, through a
   * replica whose replication is paused (it keeps answering reads, with old data), then a planned
   * failover. Every read must see every increment acknowledged more than maxStaleness before it began.
   */
  @Test
  void theStalenessBoundHoldsThroughALaggingReplicaAndAFailover() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess master = t.awaitHealthy(Duration.ofSeconds(60));
    RedisProcess lagging = t.replicasOf(master).get(0);
    ChangeRecorder changes = new ChangeRecorder();
    Queue<long[]> acks = new ConcurrentLinkedQueue<>(); // {acknowledged at, value}
    Queue<long[]> reads = new ConcurrentLinkedQueue<>(); // {started at, value}
    Queue<String> readErrors = new ConcurrentLinkedQueue<>();
    try (MasterDiscovery d = FailoverJedisPoolIT.discovery(t, changes);
        FailoverConnectionProvider provider = provider(d, t, ReadFrom.REPLICA_PREFERRED);
        UnifiedJedis client = UnifiedClients.create(provider, new FailoverCommandExecutor(provider))) {
      d.awaitMaster(Duration.ofSeconds(10));
      await().atMost(Duration.ofSeconds(10)).until(() -> provider.readReplicas().contains(lagging.address()));
      Loops writer = new Loops(1, n -> {
        try {
          long v = client.incr("counter");
          acks.add(new long[] {System.nanoTime(), v});
        } catch (RuntimeException e) {
          // an INCR caught in the failover is not retried (not idempotent): the bound is about acknowledged ones
        }
      });
      Loops readers = new Loops(3, n -> {
        long start = System.nanoTime();
        try {
          String v = client.get("counter");
          reads.add(new long[] {start, v == null ? 0 : Long.parseLong(v)});
        } catch (RuntimeException e) {
          readErrors.add(e.toString());
        }
      });
      await().atMost(Duration.ofSeconds(5)).until(() -> reads.size() > 200 && acks.size() > 200);

      try (Jedis j = t.connect(lagging)) {
        j.sendCommand(redis.clients.jedis.Protocol.Command.CLIENT, "PAUSE", "4000", "WRITE"); // replication stops, reads go on
      }
      await().atMost(Duration.ofSeconds(5)).until(() -> !provider.readReplicas().contains(lagging.address()));
      await().atMost(Duration.ofSeconds(15)).until(() -> provider.readReplicas().contains(lagging.address()));

      t.failover();
      RedisProcess next = MasterDiscoveryIT.awaitNewMaster(t, master);
      changes.nextTo(next.address(), 15);
      assertThat(provider.readReplicas()).as("the promoted replica serves no read as a replica once we switched").doesNotContain(next.address());
      // The old master joins only once Sentinel has demoted it and it has caught up with the new master.
      await().atMost(Duration.ofSeconds(30)).until(() -> provider.readReplicas().contains(master.address()));
      int before = reads.size();
      await().atMost(Duration.ofSeconds(5)).until(() -> reads.size() > before + 200);
      writer.stop();
      readers.stop();

      assertThat(readErrors).as("read errors").isEmpty();
      List<long[]> acked = new ArrayList<>(acks); // one writer: in order of time
      for (int i = 1; i < acked.size(); i++) {
        // An increment the old master acknowledged and the failover lost would show as a value repeated: that would be
        // a lost write (the write fence's job, asserted elsewhere), and would make the staleness check below meaningless.
        assertThat(acked.get(i)[1]).as("acknowledged increments keep rising (none lost in the failover)").isGreaterThan(acked.get(i - 1)[1]);
      }
      long boundNanos = MAX_STALENESS.toNanos();
      List<String> tooStale = new ArrayList<>();
      int stale = 0; // reads that missed an increment acknowledged before they began: replica reads, within the bound
      for (long[] read : reads) {
        long mustSee = newestAckedBefore(acked, read[0] - boundNanos);
        if (read[1] < mustSee) {
          tooStale.add("read " + read[1] + " but " + mustSee + " was acknowledged more than " + MAX_STALENESS.toMillis() + " ms before");
        }
        if (read[1] < newestAckedBefore(acked, read[0])) {
          stale++;
        }
      }
      System.out.printf("replica reads through a paused replica and SENTINEL FAILOVER: %d reads, %d errors, %d stale within the bound, "
          + "%d older than the bound; %d increments acknowledged%n", reads.size(), readErrors.size(), stale, tooStale.size(), acked.size());
      assertThat(stale).as("stale reads within the bound (the paused replica served some before it left)").isPositive();
      assertThat(tooStale).as("reads older than maxStaleness").isEmpty();
    }
  }

  @Test
  void readersGoOnWithoutErrorsThroughAFrozenThenAKilledReplica() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess master = t.awaitHealthy(Duration.ofSeconds(60));
    RedisProcess victim = t.replicasOf(master).get(0);
    RedisProcess other = t.replicasOf(master).get(1);
    Queue<String> errors = new ConcurrentLinkedQueue<>();
    Map<String, Long> served = new java.util.concurrent.ConcurrentHashMap<>();
    try (MasterDiscovery d = TestDiscoveries.labelsAndSentinels(t).clientConfig(t.clientConfig()).build();
        FailoverConnectionProvider provider = provider(d, t, ReadFrom.REPLICA);
        UnifiedJedis client = UnifiedClients.create(provider, new FailoverCommandExecutor(provider))) {
      d.awaitMaster(Duration.ofSeconds(10));
      client.set("greeting", "hello");
      await().atMost(Duration.ofSeconds(10)).until(() -> provider.readReplicas().size() == 2);
      Loops readers = new Loops(4, n -> {
        try {
          served.merge(String.valueOf(client.get("greeting")), 1L, Long::sum);
        } catch (RuntimeException e) {
          errors.add(e.toString());
        }
      });
      await().atMost(Duration.ofSeconds(5)).until(() -> served.values().stream().mapToLong(Long::longValue).sum() > 200);

      victim.freeze();
      try {
        await().atMost(Duration.ofSeconds(10)).until(() -> provider.readReplicas().equals(List.of(other.address())));
      } finally {
        victim.unfreeze();
      }
      await().atMost(Duration.ofSeconds(15)).until(() -> provider.readReplicas().size() == 2);
      victim.kill();
      await().atMost(Duration.ofSeconds(10)).until(() -> provider.readReplicas().equals(List.of(other.address())));
      long before = served.values().stream().mapToLong(Long::longValue).sum();
      await().atMost(Duration.ofSeconds(5)).until(() -> served.values().stream().mapToLong(Long::longValue).sum() > before + 200);
      readers.stop();

      System.out.printf("replica reads through a frozen then a killed replica: %s, errors %s%n", served, errors);
      assertThat(errors).as("errors surfaced to readers").isEmpty();
      assertThat(served.keySet()).as("every read saw the value written before").containsExactly("hello");
    }
  }

  /**
   * A replica with {@code replica-serve-stale-data no} answers {@code MASTERDOWN} once its link is
   * gone, until the next check takes it out: those reads are refused unrun, so they are retried on
   * another node, and the connection is not reused.
   */
  @Test
  void readsRefusedByAReplicaThatLostItsMasterAreRetriedElsewhere() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess master = t.awaitHealthy(Duration.ofSeconds(60));
    RedisProcess cutOff = t.replicasOf(master).get(0);
    Queue<String> errors = new ConcurrentLinkedQueue<>();
    java.util.concurrent.atomic.AtomicLong ok = new java.util.concurrent.atomic.AtomicLong();
    try (Jedis j = t.connect(cutOff)) {
      j.configSet("replica-serve-stale-data", "no");
    }
    // Checks far apart, so that the replica is still in the read set when it starts refusing: the refusal takes it out.
    ReplicaReads reads = ReplicaReads.from(ReadFrom.REPLICA_PREFERRED).maxStaleness(Duration.ofSeconds(20)).checkInterval(Duration.ofSeconds(10));
    try (MasterDiscovery d = TestDiscoveries.labelsAndSentinels(t).clientConfig(t.clientConfig()).build();
        FailoverConnectionProvider provider = new FailoverConnectionProvider(d, poolConfig(), t.clientConfig(), reads);
        UnifiedJedis client = UnifiedClients.create(provider, new FailoverCommandExecutor(provider));
        java.net.ServerSocket nobody = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      d.awaitMaster(Duration.ofSeconds(10));
      client.set("greeting", "hello");
      await().atMost(Duration.ofSeconds(10)).until(() -> provider.readReplicas().size() == 2);
      Loops readers = new Loops(4, n -> {
        try {
          if ("hello".equals(client.get("greeting"))) {
            ok.incrementAndGet();
          }
        } catch (RuntimeException e) {
          errors.add(e.toString());
        }
      });
      await().atMost(Duration.ofSeconds(5)).until(() -> ok.get() > 200);
      int port = nobody.getLocalPort();
      nobody.close(); // a port where nothing listens: the replica's link goes down and stays down
      try (Jedis j = t.connect(cutOff)) {
        j.replicaof("127.0.0.1", port);
      }
      await().atMost(Duration.ofSeconds(5)).until(() -> !provider.readReplicas().contains(cutOff.address()));
      long before = ok.get();
      await().atMost(Duration.ofSeconds(5)).until(() -> ok.get() > before + 200);
      readers.stop();
      long refused = infoCount(t, cutOff, "errorstats", "errorstat_MASTERDOWN:count=");
      System.out.printf("replica reads through a replica cut off from its master: %d reads ok, %d refused with MASTERDOWN and retried, "
          + "errors %s%n", ok.get(), refused, errors);
      assertThat(refused).as("reads the replica refused with MASTERDOWN (the path under test)").isPositive();
      assertThat(errors).as("errors surfaced to readers").isEmpty();
    }
  }

  /**
   * The cost a fleet multiplies: with the default bound, the master's own view of what each replica
   * acknowledged proves the replicas, so a check is one command at the master and a replica is asked
   * only every tenth check (its round trip), while writes flow and reads keep going to replicas.
   */
  @Test
  void theMastersViewProvesTheReplicasSoAReplicaIsAskedOnlyEveryTenthCheck() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess master = t.awaitHealthy(Duration.ofSeconds(60));
    List<RedisProcess> replicas = t.replicasOf(master);
    ReplicaReads reads = ReplicaReads.from(ReadFrom.REPLICA).checkInterval(Duration.ofMillis(100)); // default maxStaleness
    try (MasterDiscovery d = TestDiscoveries.labelsAndSentinels(t).clientConfig(t.clientConfig()).build();
        FailoverConnectionProvider provider = new FailoverConnectionProvider(d, poolConfig(), t.clientConfig(), reads);
        UnifiedJedis client = UnifiedClients.create(provider, new FailoverCommandExecutor(provider))) {
      d.awaitMaster(Duration.ofSeconds(10));
      await().atMost(Duration.ofSeconds(10)).until(() -> provider.readReplicas().size() == 2);
      java.util.concurrent.atomic.AtomicLong n = new java.util.concurrent.atomic.AtomicLong();
      Loops writers = new Loops(1, i -> client.set("k" + (n.incrementAndGet() % 100), "v"));
      try {
        // Start counting once each replica has acknowledged an offset the checks already sampled: before that (up
        // to a second after the replicas synced: they acknowledge once a second) the master's view cannot date them,
        // and every check asks them directly by design.
        long sampled;
        try (Jedis j = t.connect(master)) {
          sampled = ((Number) j.role().get(1)).longValue();
          await().atMost(Duration.ofSeconds(10)).until(() -> acknowledgedOffsets(j.role()).stream().allMatch(a -> a >= sampled)
              && acknowledgedOffsets(j.role()).size() == 2);
        }
        long masterBefore = roles(t, master);
        long[] replicaBefore = replicas.stream().mapToLong(r -> roles(t, r)).toArray();
        await().atMost(Duration.ofSeconds(30)).until(() -> roles(t, master) - masterBefore >= 60);
        long checks = roles(t, master) - masterBefore; // plus the discovery's own verification, one every 5 s
        for (int i = 0; i < replicas.size(); i++) {
          long asked = roles(t, replicas.get(i)) - replicaBefore[i];
          System.out.printf("replica %s asked ROLE %d times in %d checks at the master%n", replicas.get(i).address(), asked, checks);
          // every tenth check, and the odd check where the master's view is not recent enough (a late acknowledgment);
          // asking every replica at every check would be one per check
          assertThat(asked).as("direct asks of %s in %d checks", replicas.get(i).address(), checks).isLessThanOrEqualTo(checks / 5);
        }
        assertThat(n.get()).as("writes flowed meanwhile").isGreaterThan(100);
        assertThat(provider.readReplicas()).as("both replicas stayed proven").hasSize(2);
        assertThat(client.get("k1")).isEqualTo("v");
      } finally {
        writers.stop();
      }
    }
  }

  /** What each replica last acknowledged, from the master's {@code ROLE} reply. */
  private static List<Long> acknowledgedOffsets(List<Object> role) {
    return ((List<?>) role.get(2)).stream().map(e -> ((List<?>) e).get(2))
        .map(o -> Long.parseLong(o instanceof byte[] b ? new String(b, java.nio.charset.StandardCharsets.US_ASCII) : String.valueOf(o))).toList();
  }

  private static long roles(RedisHaTopology t, RedisProcess node) {
    return infoCount(t, node, "commandstats", "cmdstat_role:calls=");
  }

  @Test
  void withReplicaOnlyAndNoProvenReplicaReadsFailNamingWhatEachReplicaSaid() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess master = t.awaitHealthy(Duration.ofSeconds(60));
    try (MasterDiscovery d = TestDiscoveries.labelsAndSentinels(t).clientConfig(t.clientConfig()).build();
        FailoverConnectionProvider provider = provider(d, t, ReadFrom.REPLICA);
        UnifiedJedis client = UnifiedClients.create(provider, null)) {
      d.awaitMaster(Duration.ofSeconds(10));
      await().atMost(Duration.ofSeconds(10)).until(() -> provider.readReplicas().size() == 2);
      for (RedisProcess r : t.replicasOf(master)) {
        try (Jedis j = t.connect(r)) {
          j.sendCommand(redis.clients.jedis.Protocol.Command.CLIENT, "PAUSE", "5000", "WRITE");
        }
      }
      client.set("k", "v"); // the replicas fall behind this write
      await().atMost(Duration.ofSeconds(5)).until(() -> provider.readReplicas().isEmpty());
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> client.get("k"))
          .isInstanceOf(redis.clients.jedis.exceptions.JedisConnectionException.class)
          .hasMessageContaining("no replica proven within maxStaleness 1000 ms")
          .hasMessageContaining("behind master " + master.address() + " by");
      assertThat(client.set("k2", "v")).as("writes still go to the master").isEqualTo("OK");
      await().atMost(Duration.ofSeconds(10)).until(() -> provider.readReplicas().size() == 2);
      assertThat(client.get("k")).isEqualTo("v");
    }
  }

  /** One replica sits behind a slow path (20 ms each way): LOWEST_LATENCY never reads from it. */
  @Test
  void lowestLatencyReadsAvoidTheFarReplica() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess master = t.awaitHealthy(Duration.ofSeconds(60));
    RedisProcess far = t.replicasOf(master).get(0);
    try (TcpForwarder slowPath = TcpForwarder.start("127.0.0.1", far.address())) {
      slowPath.setDelay(Duration.ofMillis(20));
      ExternalAccess farAway = ExternalAccess.mapper(a -> a.equals(far.address()) ? slowPath.address() : a);
      try (MasterDiscovery d = TestDiscoveries.labelsAndSentinels(t).clientConfig(t.clientConfig()).externalAccess(farAway).build();
          FailoverConnectionProvider provider = provider(d, t, ReadFrom.LOWEST_LATENCY);
          UnifiedJedis client = UnifiedClients.create(provider, new FailoverCommandExecutor(provider))) {
        d.awaitMaster(Duration.ofSeconds(10));
        client.set("k", "v");
        await().atMost(Duration.ofSeconds(10)).until(() -> provider.readReplicas().contains(slowPath.address()));
        resetStats(t);
        for (int i = 0; i < 300; i++) {
          client.get("k");
        }
        long near = 0;
        for (RedisProcess node : t.nodes()) {
          if (node != far) {
            near += getsServed(t, node);
          }
        }
        assertThat(getsServed(t, far)).as("GETs the far replica served").isZero();
        assertThat(near).isEqualTo(300);
      }
    }
  }

  @Test
  void masterPreferredReadsTheMasterWhileOneIsVerified() throws Exception {
    RedisHaTopology t = ha.topology();
    RedisProcess master = t.awaitHealthy(Duration.ofSeconds(60));
    try (MasterDiscovery d = TestDiscoveries.labelsAndSentinels(t).clientConfig(t.clientConfig()).build();
        FailoverConnectionProvider provider = provider(d, t, ReadFrom.MASTER_PREFERRED);
        UnifiedJedis client = UnifiedClients.create(provider, null)) {
      d.awaitMaster(Duration.ofSeconds(10));
      await().atMost(Duration.ofSeconds(10)).until(() -> provider.readReplicas().size() == 2);
      client.set("k", "v");
      resetStats(t);
      for (int i = 0; i < 50; i++) {
        assertThat(client.get("k")).isEqualTo("v");
      }
      assertThat(getsServed(t, master)).isEqualTo(50);
    }
  }

  /** The value of the last acknowledgment before {@code nanos} (acks in time order), or 0. */
  private static long newestAckedBefore(List<long[]> acked, long nanos) {
    int lo = 0;
    int hi = acked.size(); // first index at or after nanos
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (acked.get(mid)[0] < nanos) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo == 0 ? 0 : acked.get(lo - 1)[1];
  }

  /** Threads running {@code body} about every millisecond until stopped. */
  static final class Loops {
    final AtomicBoolean stop = new AtomicBoolean();
    final List<Thread> threads = new ArrayList<>();

    Loops(int n, Consumer<Long> body) {
      for (int i = 0; i < n; i++) {
        Thread th = new Thread(() -> {
          for (long k = 0; !stop.get(); k++) {
            body.accept(k);
            LockSupport.parkNanos(1_000_000);
          }
        }, "loop-" + i);
        th.start();
        threads.add(th);
      }
    }

    void stop() throws InterruptedException {
      stop.set(true);
      for (Thread th : threads) {
        th.join(15_000);
        assertThat(th.isAlive()).as("%s stuck", th.getName()).isFalse();
      }
    }
  }
}
