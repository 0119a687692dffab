package io.github.redismasterdiscovery.testkit;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.RedisProtocol;

/**
 * A real Redis HA topology on loopback: one master, replicas and Sentinels as {@code redis-server}
 * processes, each on its own 127.0.x.y address, plus (by default) a Kubernetes mock API with one Pod
 * per Redis node whose master label follows Sentinel.
 *
 * <p>The servers run as child processes of this JVM by default, or, with {@link
 * Builder#containers(String)}, as Docker containers of an image you choose on the host's network
 * (through Testcontainers): the same topology, addresses, fault handles and checks either way.
 *
 * <pre>{@code
 * try (RedisHaTopology ha = RedisHaTopology.builder().start()) {
 *   ha.master().kill();                         // kill -9
 *   RedisProcess next = ha.awaitAgreedMaster(Duration.ofSeconds(10));
 * }
 * }</pre>
 *
 * <p>Pods are named {@code <release>-node-<i>} in the configured namespace, carry the usual
 * {@code app.kubernetes.io/*} labels, {@code status.podIP} = the node's address, a container port
 * named {@code redis} and a {@code Ready} condition. {@link #close()} kills every process; a JVM
 * shutdown hook and an orphan reaper make sure none survives a crashed test run.
 */
public final class RedisHaTopology implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(RedisHaTopology.class);
  private static final AtomicInteger SUBNETS = new AtomicInteger();
  private static final boolean DISTINCT_LOOPBACKS = distinctLoopbacksWork();

  /** Set to {@code true} to keep {@link #directory()} after {@link #close()}. */
  public static final String KEEP_FILES_PROPERTY = "rmd.testkit.keepFiles";

  private final Builder config;
  private final Path dir;
  private final List<RedisProcess> nodes = new ArrayList<>();
  private final List<RedisProcess> sentinels = new ArrayList<>();
  private KubernetesApi kubernetes;
  private KubernetesClient kubernetesClient;
  private MasterLabelUpdater labels;
  private final long startMillis;
  private final TlsMaterial tls;

  private RedisHaTopology(Builder config) {
    this.config = config;
    try {
      this.dir = Files.createTempDirectory("rmd-ha-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a directory for the topology", e);
    }
    this.tls = config.tls ? TlsMaterial.generate(dir.resolve("tls")) : null;
    long t0 = System.nanoTime();
    try {
      startAll();
    } catch (RuntimeException | Error e) {
      String logs = logs();
      close();
      throw new IllegalStateException("the Redis HA topology did not start: " + e.getMessage() + "\n" + logs, e);
    }
    this.startMillis = (System.nanoTime() - t0) / 1_000_000;
    log.info("Redis HA topology up in {} ms ({}): master {}, replicas {}, sentinels {}{}", startMillis, config.runtime, nodes.get(0).address(),
        nodes.subList(1, nodes.size()).stream().map(RedisProcess::address).collect(Collectors.toList()),
        sentinels.stream().map(RedisProcess::address).collect(Collectors.toList()),
        kubernetes == null ? "" : ", Kubernetes API " + kubernetes.url());
  }

  /** A builder with the defaults: 2 replicas, 3 Sentinels (quorum 2), fast failover timings, a Kubernetes API. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The folder holding every node's and Sentinel's configuration, data and log ({@code node-0},
   * {@code sentinel-0}, ...). {@link #close()} deletes it, unless the system property {@value
   * #KEEP_FILES_PROPERTY} is {@code true} (to read the logs of a run afterwards).
   */
  public Path directory() {
    return dir;
  }

  /** The Sentinel master-set name, {@code mymaster} by default. */
  public String masterName() {
    return config.masterName;
  }

  /** Sentinel's {@code down-after-milliseconds}: how long a master may be silent before it is considered down. */
  public Duration downAfter() {
    return config.downAfter;
  }

  /** Sentinel's {@code failover-timeout}. */
  public Duration failoverTimeout() {
    return config.failoverTimeout;
  }

  /** All Redis data nodes; node {@code i} backs pod {@code <release>-node-<i>}. Node 0 starts as master. */
  public List<RedisProcess> nodes() {
    return List.copyOf(nodes);
  }

  /** Data node {@code i}. */
  public RedisProcess node(int i) {
    return nodes.get(i);
  }

  /** All Sentinels. */
  public List<RedisProcess> sentinels() {
    return List.copyOf(sentinels);
  }

  /** The Sentinels' addresses, for clients. */
  public List<HostAndPort> sentinelAddresses() {
    return sentinels.stream().map(RedisProcess::address).collect(Collectors.toList());
  }

  /** Whether the servers run in containers ({@link Builder#containers(String)}) rather than as local processes. */
  public boolean runsInContainers() {
    return config.runtime instanceof Containers;
  }

  /** How long {@code start()} took, in milliseconds (processes, replication, Sentinel discovery, API, pods). */
  public long startMillis() {
    return startMillis;
  }

  /** The TLS material when built with {@code tls(true)}: for clients, {@link TlsMaterial#socketFactory()}. */
  public TlsMaterial tls() {
    if (tls == null) {
      throw new IllegalStateException("this topology was built without tls(true)");
    }
    return tls;
  }

  /** The Redis password, or null when none is set. Never logged. */
  public String password() {
    return config.password;
  }

  /** A client configuration for the data nodes (password included) with short timeouts. */
  public JedisClientConfig clientConfig() {
    return DefaultJedisClientConfig.builder()
        .ssl(tls != null)
        .sslSocketFactory(tls == null ? null : tls.socketFactory())
        .password(config.password)
        .connectionTimeoutMillis(1_000)
        .socketTimeoutMillis(2_000)
        .protocol(RedisProtocol.RESP2)
        .build();
  }

  /** A client configuration for the Sentinels (their own password, if set). */
  public JedisClientConfig sentinelClientConfig() {
    return DefaultJedisClientConfig.builder()
        .ssl(tls != null)
        .sslSocketFactory(tls == null ? null : tls.socketFactory())
        .password(config.sentinelPassword)
        .connectionTimeoutMillis(1_000)
        .socketTimeoutMillis(2_000)
        .protocol(RedisProtocol.RESP2)
        .build();
  }

  /** A new connection to {@code node}; the caller closes it. */
  public Jedis connect(RedisProcess node) {
    return new Jedis(node.address(), node.isSentinel() ? sentinelClientConfig() : clientConfig());
  }

  /** The node listening on {@code address}. */
  public RedisProcess nodeAt(HostAndPort address) {
    return nodes.get(nodeIndex(address));
  }

  /** The index of the node listening on {@code address}. */
  public int nodeIndex(HostAndPort address) {
    for (int i = 0; i < nodes.size(); i++) {
      if (nodes.get(i).address().equals(address)) {
        return i;
      }
    }
    throw new IllegalArgumentException(address + " is not a node of this topology: " + nodes);
  }

  /** The Pod name of node {@code i}: {@code <release>-node-<i>}. */
  public String podName(int i) {
    return config.release + "-node-" + i;
  }

  /** Each running Sentinel's current master (Sentinels that are down or frozen are left out). */
  public Map<RedisProcess, HostAndPort> sentinelOpinions() {
    try (SentinelQuery q = new SentinelQuery(sentinels, sentinelClientConfig(), config.masterName)) {
      return q.opinions();
    }
  }

  /** The node whose {@code ROLE} reply says master right now, among running, unfrozen nodes; null if none or several. */
  public RedisProcess nodeClaimingMaster() {
    RedisProcess found = null;
    for (RedisProcess node : nodes) {
      if (role(node).equals("master")) {
        if (found != null) {
          return null;
        }
        found = node;
      }
    }
    return found;
  }

  /** Clients of {@code node} blocked in a command ({@code BLPOP}, {@code XREAD BLOCK}, ...): {@code INFO clients}' {@code blocked_clients}. */
  public long blockedClients(RedisProcess node) {
    try (Jedis jedis = connect(node)) {
      for (String line : jedis.info("clients").split("\r?\n")) {
        if (line.startsWith("blocked_clients:")) {
          return Long.parseLong(line.substring("blocked_clients:".length()).trim());
        }
      }
    }
    throw new IllegalStateException("no blocked_clients in INFO clients of " + node);
  }

  /** Subscriptions to {@code channel} on {@code node} ({@code PUBSUB NUMSUB}). */
  public long subscribers(RedisProcess node, String channel) {
    try (Jedis jedis = connect(node)) {
      return jedis.pubsubNumSub(channel).getOrDefault(channel, 0L);
    }
  }

  /** {@code ROLE}'s first element for {@code node} ("master", "slave"), or "down" when it does not answer. */
  public String role(RedisProcess node) {
    if (!node.isRunning() || node.isFrozen()) {
      return "down";
    }
    try (Jedis jedis = connect(node)) {
      return String.valueOf(jedis.role().get(0));
    } catch (RuntimeException e) {
      return "down";
    }
  }

  /**
   * Waits until every running Sentinel names the same master and that node answers {@code ROLE}
   * with master, and returns it.
   *
   * @throws IllegalStateException at the deadline, with what each Sentinel said and the logs
   */
  public RedisProcess awaitAgreedMaster(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Map<RedisProcess, HostAndPort> opinions = Map.of();
    try (SentinelQuery q = new SentinelQuery(sentinels, sentinelClientConfig(), config.masterName)) {
      while (System.nanoTime() < deadline) {
        opinions = q.opinions();
        long running = sentinels.stream().filter(s -> s.isRunning() && !s.isFrozen()).count();
        if (!opinions.isEmpty() && opinions.size() == running && opinions.values().stream().distinct().count() == 1) {
          RedisProcess candidate = nodeAt(opinions.values().iterator().next());
          if (role(candidate).equals("master")) {
            return candidate;
          }
        }
        sleepQuietly(10);
      }
    }
    throw new IllegalStateException("Sentinels did not agree on a master within " + timeout + ": " + opinions + "\n" + logs());
  }

  /**
   * After a fault of {@code old} (a {@link RedisProcess#kill()}, {@link #failover()}), waits until the
   * Sentinels agree on another master that answers {@code ROLE} master, and returns it. (Right after
   * the fault {@link #awaitAgreedMaster} still returns {@code old}: a planned failover leaves it
   * answering as master for a moment, and Sentinels name a killed master until down-after passes.)
   *
   * @throws IllegalStateException at the deadline, with what each Sentinel said and the logs
   */
  public RedisProcess awaitNewMaster(RedisProcess old, Duration timeout) {
    Objects.requireNonNull(old, "old");
    long deadline = System.nanoTime() + timeout.toNanos();
    RedisProcess agreed;
    do {
      agreed = awaitAgreedMaster(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
      if (agreed != old) {
        return agreed;
      }
      sleepQuietly(10);
    } while (System.nanoTime() < deadline);
    throw new IllegalStateException("the Sentinels still name " + old + " after " + timeout + "\n" + logs());
  }

  /** The master as the Sentinels agree on it now (waits up to 10 s). */
  public RedisProcess master() {
    return awaitAgreedMaster(Duration.ofSeconds(10));
  }

  /** The data nodes that are not {@code master}. */
  public List<RedisProcess> replicasOf(RedisProcess master) {
    return nodes.stream().filter(n -> n != master).collect(Collectors.toList());
  }

  /** {@code SENTINEL FAILOVER <name>} on the first Sentinel that answers: a graceful, planned switch. */
  public void failover() {
    RuntimeException last = null;
    for (RedisProcess sentinel : sentinels) {
      if (!sentinel.isRunning() || sentinel.isFrozen()) {
        continue;
      }
      try (Jedis jedis = connect(sentinel)) {
        jedis.sentinelFailover(config.masterName);
        return;
      } catch (RuntimeException e) {
        last = e;
      }
    }
    throw new IllegalStateException("no Sentinel accepted SENTINEL FAILOVER " + config.masterName, last);
  }

  /**
   * Promotes {@code node} by hand, the way an operator would: {@code REPLICAOF NO ONE} on it, then
   * {@code REPLICAOF <node>} on every other running data node. Sentinels undo this, so stop them first.
   */
  public void promote(RedisProcess node) {
    try (Jedis jedis = connect(node)) {
      jedis.replicaofNoOne();
    }
    for (RedisProcess other : nodes) {
      if (other != node && other.isRunning() && !other.isFrozen()) {
        try (Jedis jedis = connect(other)) {
          jedis.replicaof(node.address().getHost(), node.address().getPort());
        }
      }
    }
  }

  /** The Kubernetes mock API. */
  public KubernetesApi kubernetes() {
    requireKubernetes();
    return kubernetes;
  }

  /** The label updater that mirrors Sentinel into pod labels. */
  public MasterLabelUpdater labels() {
    requireKubernetes();
    return labels;
  }

  /** Every process's log tail, for failure messages. */
  public String logs() {
    StringBuilder out = new StringBuilder();
    for (RedisProcess p : nodes) {
      out.append(p.logTail(15));
    }
    for (RedisProcess p : sentinels) {
      out.append(p.logTail(15));
    }
    return out.toString();
  }

  /**
   * Kills every process, stops the Kubernetes API and deletes {@link #directory()} (unless {@value
   * #KEEP_FILES_PROPERTY} is set). Idempotent.
   */
  @Override
  public void close() {
    if (labels != null) {
      labels.close();
    }
    if (kubernetes != null) {
      kubernetes.close();
    }
    List<CompletableFuture<Void>> kills = new ArrayList<>();
    for (RedisProcess p : sentinels) {
      kills.add(CompletableFuture.runAsync(p::kill));
    }
    for (RedisProcess p : nodes) {
      kills.add(CompletableFuture.runAsync(p::kill));
    }
    kills.forEach(CompletableFuture::join);
    if (!Boolean.getBoolean(KEEP_FILES_PROPERTY)) {
      deleteDirectory();
    }
  }

  private void deleteDirectory() {
    if (!deleteRecursively(dir)) {
      log.warn("could not delete {} (files of a process still writing there?); set -D{}=true to keep such folders on purpose", dir,
          KEEP_FILES_PROPERTY);
    }
  }

  /** Deletes {@code folder} and what it holds, best effort: whether it is gone. */
  static boolean deleteRecursively(Path folder) {
    if (!Files.exists(folder)) {
      return true;
    }
    try (Stream<Path> paths = Files.walk(folder)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException | UncheckedIOException e) {
      log.debug("could not delete {}: {}", folder, e.toString());
    }
    return !Files.exists(folder);
  }

  @Override
  public String toString() {
    return "RedisHaTopology{nodes=" + nodes + ", sentinels=" + sentinels + "}";
  }

  private void requireKubernetes() {
    if (kubernetes == null) {
      throw new IllegalStateException("this topology was built with kubernetes(false)");
    }
  }

  private void startAll() {
    int subnet = DISTINCT_LOOPBACKS ? 1 + SUBNETS.getAndIncrement() % 250 : 0;
    List<HostAndPort> nodeAddresses = new ArrayList<>();
    for (int i = 0; i <= config.replicas; i++) {
      nodeAddresses.add(freeAddress(subnet, 10 + i));
    }
    HostAndPort master = nodeAddresses.get(0);
    for (int i = 0; i <= config.replicas; i++) {
      nodes.add(new RedisProcess("node-" + i, nodeAddresses.get(i), dir.resolve("node-" + i), false,
          nodeConfig(nodeAddresses.get(i), i == 0 ? null : master), tls != null, config.runtime));
    }
    List<HostAndPort> sentinelAddresses = new ArrayList<>();
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < config.sentinels; i++) {
      sentinelAddresses.add(freeAddress(subnet, 20 + i));
      byte[] id = new byte[20];
      ThreadLocalRandom.current().nextBytes(id);
      ids.add(HexFormat.of().formatHex(id));
    }
    for (int i = 0; i < config.sentinels; i++) {
      sentinels.add(new RedisProcess("sentinel-" + i, sentinelAddresses.get(i), dir.resolve("sentinel-" + i), true,
          sentinelConfig(sentinelAddresses.get(i), ids.get(i), master, nodeAddresses, sentinelAddresses, ids), tls != null,
          config.runtime));
    }
    CompletableFuture<Void> api = config.kubernetes
        ? CompletableFuture.runAsync(() -> kubernetes = new KubernetesApi(config.namespace))
        : CompletableFuture.completedFuture(null);
    parallel(nodes);
    parallel(sentinels);
    awaitHealthy(Duration.ofSeconds(15));
    api.join();
    if (config.kubernetes) {
      kubernetesClient = kubernetes.newClient();
      for (int i = 0; i < nodes.size(); i++) {
        kubernetesClient.pods().inNamespace(config.namespace).resource(pod(i)).create();
      }
      labels = new MasterLabelUpdater(this, kubernetesClient, config.labelKey, config.labelLag);
      labels.start(master);
    }
  }

  private static void parallel(List<RedisProcess> processes) {
    List<CompletableFuture<Void>> starts = new ArrayList<>();
    for (RedisProcess p : processes) {
      starts.add(CompletableFuture.runAsync(p::start));
    }
    try {
      starts.forEach(CompletableFuture::join);
    } catch (java.util.concurrent.CompletionException e) {
      throw e.getCause() instanceof RuntimeException ? (RuntimeException) e.getCause() : e;
    }
  }

  private List<String> nodeConfig(HostAndPort self, HostAndPort master) {
    List<String> lines = new ArrayList<>(List.of(
        "save \"\"", "appendonly no", "protected-mode no",
        "repl-diskless-sync yes", "repl-diskless-sync-delay 0",
        "replica-announce-ip " + self.getHost(), "replica-announce-port " + self.getPort()));
    if (config.password != null) {
      lines.add("requirepass " + config.password);
      lines.add("masterauth " + config.password);
    }
    if (master != null) {
      lines.add("replicaof " + master.getHost() + " " + master.getPort());
    }
    if (tls != null) {
      lines.addAll(tls.serverConfig());
    }
    lines.addAll(config.extraNodeConfig);
    return lines;
  }

  private List<String> sentinelConfig(HostAndPort self, String id, HostAndPort master, List<HostAndPort> nodeAddresses,
      List<HostAndPort> sentinelAddresses, List<String> ids) {
    String name = config.masterName;
    List<String> lines = new ArrayList<>(List.of(
        "protected-mode no",
        "sentinel myid " + id,
        "sentinel announce-ip " + self.getHost(),
        "sentinel announce-port " + self.getPort(),
        "sentinel monitor " + name + " " + master.getHost() + " " + master.getPort() + " " + config.quorum,
        "sentinel down-after-milliseconds " + name + " " + config.downAfter.toMillis(),
        "sentinel failover-timeout " + name + " " + config.failoverTimeout.toMillis(),
        "sentinel parallel-syncs " + name + " 1"));
    if (config.password != null) {
      lines.add("sentinel auth-pass " + name + " " + config.password);
    }
    if (config.sentinelPassword != null) {
      lines.add("requirepass " + config.sentinelPassword);
      // Sentinels authenticate to each other with their own requirepass unless told otherwise.
    }
    // Seeding the peers spares the ~2 s of hello-message discovery at start.
    for (HostAndPort replica : nodeAddresses.subList(1, nodeAddresses.size())) {
      lines.add("sentinel known-replica " + name + " " + replica.getHost() + " " + replica.getPort());
    }
    for (int j = 0; j < sentinelAddresses.size(); j++) {
      if (!sentinelAddresses.get(j).equals(self)) {
        lines.add("sentinel known-sentinel " + name + " " + sentinelAddresses.get(j).getHost() + " " + sentinelAddresses.get(j).getPort() + " " + ids.get(j));
      }
    }
    if (tls != null) {
      lines.addAll(tls.serverConfig());
    }
    lines.addAll(config.extraSentinelConfig);
    return lines;
  }

  /**
   * Waits until the topology is whole again after a fault: every node running, the Sentinels agree
   * on a master that answers ROLE master, every replica acknowledges a write on it
   * ({@link #REPLICATION_CHECK_KEY}, {@code WAIT}), and every Sentinel sees all replicas healthy (no
   * {@code s_down}, not disconnected) and all its peers. Call it between failovers: Sentinel will not
   * promote a replica it still holds as down.
   *
   * @throws IllegalStateException at the deadline, naming what is still unhealthy
   */
  public RedisProcess awaitHealthy(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    String why;
    do {
      RedisProcess master = awaitAgreedMaster(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
      why = unhealthy(master);
      if (why == null) {
        return master;
      }
      sleepQuietly(10);
    } while (System.nanoTime() < deadline);
    throw new IllegalStateException("the topology is not healthy within " + timeout + ": " + why + "\n" + logs());
  }

  /** The key {@link #awaitHealthy} writes on the master to see every replica acknowledge it. */
  public static final String REPLICATION_CHECK_KEY = "rmd-testkit:replication-check";

  /** The first thing wrong around {@code master}: a replica not linked, or a Sentinel's view; null when none. */
  private String unhealthy(RedisProcess master) {
    for (RedisProcess replica : replicasOf(master)) {
      try (Jedis jedis = connect(replica)) {
        String info = jedis.info("replication");
        if (!info.contains("master_link_status:up") || !info.contains("master_port:" + master.address().getPort())) {
          return replica + " is not linked to " + master;
        }
      } catch (RuntimeException e) {
        return replica + " does not answer: " + e.getMessage();
      }
    }
    // Linked is not enough: right after a (re)synchronization a master may not stream to a replica yet, and a
    // replica promoted then lacks every write since (seen once: promoted at replication offset 1). A write that
    // every replica acknowledges (WAIT) proves the stream flows.
    int replicas = replicasOf(master).size();
    try (Jedis jedis = connect(master)) {
      jedis.set(REPLICATION_CHECK_KEY, Long.toString(System.nanoTime()));
      long acknowledged = jedis.waitReplicas(replicas, 100);
      if (acknowledged < replicas) {
        return "only " + acknowledged + " of " + replicas + " replicas of " + master + " acknowledged a write within 100 ms";
      }
    } catch (RuntimeException e) {
      return master + " does not answer: " + e.getMessage();
    }
    for (RedisProcess sentinel : sentinels) {
      if (!sentinel.isRunning() || sentinel.isFrozen()) {
        continue;
      }
      try (Jedis jedis = connect(sentinel)) {
        String why = unhealthy(jedis, master);
        if (why != null) {
          return sentinel + ": " + why;
        }
      } catch (RuntimeException e) {
        return sentinel + " does not answer: " + e.getMessage();
      }
    }
    return null;
  }

  /** What this Sentinel still sees wrong with {@code master} and its replicas, or null when all is well. */
  private String unhealthy(Jedis sentinel, RedisProcess master) {
    Map<String, String> m = sentinel.sentinelMaster(config.masterName);
    String expected = master.address().getHost() + ":" + master.address().getPort();
    if (!expected.equals(m.get("ip") + ":" + m.get("port"))) {
      return "master is " + m.get("ip") + ":" + m.get("port") + ", not " + expected;
    }
    if (!Objects.equals(m.get("flags"), "master")) {
      return "master flags " + m.get("flags");
    }
    if (Integer.parseInt(m.getOrDefault("num-other-sentinels", "0")) != config.sentinels - 1) {
      return "knows " + m.get("num-other-sentinels") + " other Sentinels";
    }
    List<Map<String, String>> replicas = sentinel.sentinelReplicas(config.masterName);
    List<String> healthy = new ArrayList<>();
    for (Map<String, String> r : replicas) {
      if ("slave".equals(r.get("flags")) && "ok".equals(r.get("master-link-status"))) {
        healthy.add(r.get("ip") + ":" + r.get("port"));
      }
    }
    for (RedisProcess replica : replicasOf(master)) {
      String a = replica.address().getHost() + ":" + replica.address().getPort();
      if (!healthy.contains(a)) {
        return "replica " + a + " not healthy: " + replicas.stream().filter(r -> a.equals(r.get("ip") + ":" + r.get("port")))
            .map(r -> r.get("flags") + "/" + r.get("master-link-status")).findFirst().orElse("unknown to this Sentinel");
      }
    }
    return null;
  }

  private Pod pod(int i) {
    RedisProcess node = nodes.get(i);
    String name = podName(i);
    return new PodBuilder()
        .withNewMetadata()
          .withName(name)
          .withNamespace(config.namespace)
          .addToLabels("app.kubernetes.io/name", "redis")
          .addToLabels("app.kubernetes.io/instance", config.release)
          .addToLabels("app.kubernetes.io/component", "node")
          .addToLabels("statefulset.kubernetes.io/pod-name", name)
        .endMetadata()
        .withNewSpec()
          .addNewContainer()
            .withName("redis")
            .withImage(config.runtime.image())
            .addNewPort().withName("redis").withContainerPort(node.address().getPort()).withProtocol("TCP").endPort()
          .endContainer()
        .endSpec()
        .withNewStatus()
          .withPhase("Running")
          .withPodIP(node.address().getHost())
          .addNewCondition().withType("Ready").withStatus("True").endCondition()
        .endStatus()
        .build();
  }

  private static HostAndPort freeAddress(int subnet, int host) {
    String ip = DISTINCT_LOOPBACKS ? "127.0." + subnet + "." + host : "127.0.0.1";
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(ip))) {
      return new HostAndPort(ip, s.getLocalPort());
    } catch (IOException e) {
      throw new UncheckedIOException("no free port on " + ip, e);
    }
  }

  private static boolean distinctLoopbacksWork() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.250.250"))) {
      return true;
    } catch (IOException e) {
      log.info("127.0.x.y addresses cannot be bound here ({}); every node uses 127.0.0.1 with its own port", e.toString());
      return false;
    }
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis); // polling external processes that publish no event we could wait on
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** Settings for a {@link RedisHaTopology}; {@link #start()} builds and starts it. */
  public static final class Builder {
    private String masterName = "mymaster";
    private int replicas = 2;
    private int sentinels = 3;
    private int quorum = 2;
    private Duration downAfter = Duration.ofMillis(1000);
    private Duration failoverTimeout = Duration.ofMillis(3000);
    private String password;
    private String sentinelPassword;
    private boolean kubernetes = true;
    private boolean tls;
    private String namespace = "redis";
    private String release = "redis";
    private String labelKey = "isMaster";
    private Duration labelLag = Duration.ZERO;
    private final List<String> extraNodeConfig = new ArrayList<>();
    private final List<String> extraSentinelConfig = new ArrayList<>();
    private NodeRuntime runtime = LocalProcesses.INSTANCE;

    private Builder() {}

    /**
     * Runs every node and Sentinel as a Docker container of {@code image} (through Testcontainers) instead
     * of a local process, on the host's network ({@code --network host}): each binds its own loopback
     * address and port, so the addresses Sentinels and replicas announce are the ones this JVM reaches.
     * Any image with {@code redis-server} on its {@code PATH}: the official {@code redis:7}, Valkey's
     * images (their {@code redis-server} is Valkey's), or one built locally. Needs a Docker engine with
     * host networking (Linux; Docker Desktop 4.34+ with host networking turned on). The image's entrypoint
     * is not run: the server command is.
     */
    public Builder containers(String image) {
      return containers(image, "redis-server");
    }

    /**
     * {@link #containers(String)} with the image named by the system property {@value #IMAGE_PROPERTY}, else
     * the environment variable {@code RMD_TESTKIT_IMAGE}, else {@value #DEFAULT_IMAGE}: a build chooses the
     * image (this project's CI a locally built one) without the tests naming it.
     */
    public Builder containers() {
      String image = System.getProperty(IMAGE_PROPERTY);
      if (image == null || image.isBlank()) {
        image = System.getenv("RMD_TESTKIT_IMAGE");
      }
      return containers(image == null || image.isBlank() ? DEFAULT_IMAGE : image);
    }

    /** The system property {@link #containers()} reads the image from. */
    public static final String IMAGE_PROPERTY = "rmd.testkit.image";

    /** The image {@link #containers()} uses when none is named: the official Redis 7 image. */
    public static final String DEFAULT_IMAGE = "redis:7";

    /** Like {@link #containers(String)}, starting {@code serverCommand} (such as {@code valkey-server}) in the image. */
    public Builder containers(String image, String serverCommand) {
      this.runtime = new Containers(requireText(image, "image"), requireText(serverCommand, "serverCommand"));
      return this;
    }

    /** Runs every node and Sentinel as a local {@code redis-server} process (the default). */
    public Builder processes() {
      this.runtime = LocalProcesses.INSTANCE;
      return this;
    }

    /** The Sentinel master-set name (default {@code mymaster}). */
    public Builder masterName(String masterName) {
      this.masterName = requireText(masterName, "masterName");
      return this;
    }

    /** Number of replicas (default 2, at least 1). */
    public Builder replicas(int replicas) {
      if (replicas < 1) {
        throw new IllegalArgumentException("replicas must be at least 1, was " + replicas);
      }
      this.replicas = replicas;
      return this;
    }

    /** Number of Sentinels and their quorum (default 3 and 2). */
    public Builder sentinels(int sentinels, int quorum) {
      if (sentinels < 1 || quorum < 1 || quorum > sentinels) {
        throw new IllegalArgumentException("need 1 <= quorum <= sentinels, was sentinels=" + sentinels + " quorum=" + quorum);
      }
      this.sentinels = sentinels;
      this.quorum = quorum;
      return this;
    }

    /** Sentinel's {@code down-after-milliseconds} (default 1000 ms). */
    public Builder downAfter(Duration downAfter) {
      this.downAfter = requirePositive(downAfter, "downAfter");
      return this;
    }

    /** Sentinel's {@code failover-timeout} (default 3000 ms). */
    public Builder failoverTimeout(Duration failoverTimeout) {
      this.failoverTimeout = requirePositive(failoverTimeout, "failoverTimeout");
      return this;
    }

    /** A {@code requirepass}/{@code masterauth} for the data nodes (Sentinel gets {@code auth-pass}). */
    public Builder password(String password) {
      this.password = requireText(password, "password");
      return this;
    }

    /** A {@code requirepass} for the Sentinels themselves. */
    public Builder sentinelPassword(String sentinelPassword) {
      this.sentinelPassword = requireText(sentinelPassword, "sentinelPassword");
      return this;
    }

    /**
     * Serves every node and Sentinel with TLS only (certificates generated for the run; replication and
     * Sentinel links over TLS too); {@link RedisHaTopology#clientConfig()} then uses TLS. Needs a
     * {@code redis-server} built with TLS (Debian's is).
     */
    public Builder tls(boolean tls) {
      this.tls = tls;
      return this;
    }

    /** Whether to start the Kubernetes mock API and label updater (default true). */
    public Builder kubernetes(boolean kubernetes) {
      this.kubernetes = kubernetes;
      return this;
    }

    /** The pods' namespace (default {@code redis}). */
    public Builder namespace(String namespace) {
      this.namespace = requireText(namespace, "namespace");
      return this;
    }

    /** The release name: pods are {@code <release>-node-<i>}, labeled {@code app.kubernetes.io/instance=<release>} (default {@code redis}). */
    public Builder release(String release) {
      this.release = requireText(release, "release");
      return this;
    }

    /** The master label key the updater writes (default {@code isMaster}, as in the Bitnami chart). */
    public Builder labelKey(String labelKey) {
      this.labelKey = requireText(labelKey, "labelKey");
      return this;
    }

    /** How long after Sentinel's switch the labels move (default zero). */
    public Builder labelLag(Duration labelLag) {
      if (labelLag == null || labelLag.isNegative()) {
        throw new IllegalArgumentException("labelLag must be zero or positive, was " + labelLag);
      }
      this.labelLag = labelLag;
      return this;
    }

    /** An extra {@code redis.conf} line for every data node, such as a TLS or ACL directive. */
    public Builder nodeConfig(String line) {
      extraNodeConfig.add(requireText(line, "nodeConfig"));
      return this;
    }

    /** An extra configuration line for every Sentinel. */
    public Builder sentinelConfig(String line) {
      extraSentinelConfig.add(requireText(line, "sentinelConfig"));
      return this;
    }

    /** Starts the topology and returns once replication is up and every Sentinel knows its peers. */
    public RedisHaTopology start() {
      return new RedisHaTopology(this);
    }

    private static String requireText(String value, String field) {
      if (value == null || value.isBlank()) {
        throw new IllegalArgumentException(field + " must not be blank");
      }
      return value;
    }

    private static Duration requirePositive(Duration value, String field) {
      if (value == null || value.isZero() || value.isNegative()) {
        throw new IllegalArgumentException(field + " must be positive, was " + value);
      }
      return value;
    }
  }
}
