package io.github.redismasterdiscovery;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.exceptions.JedisException;

/**
 * Knows the current Redis master: watches pod labels, Sentinel and DNS at the same time, and
 * trusts a candidate only after it answers {@code ROLE} with master.
 *
 * <pre>{@code
 * try (MasterDiscovery discovery = MasterDiscovery.builder()
 *     .kubernetesLabels(LabelPreset.BITNAMI)
 *     .kubernetesSelector("app.kubernetes.io/instance=my-redis")
 *     .sentinels("my-redis:26379")
 *     .masterName("mymaster")
 *     .dnsName("my-redis-master", 6379)
 *     .clientConfig(DefaultJedisClientConfig.builder().password(secret).build())
 *     .build()) {
 *   HostAndPort master = discovery.awaitMaster(Duration.ofSeconds(5));
 * }
 * }</pre>
 *
 * <h2>How the master is decided</h2>
 * Every source only proposes. In each evaluation round (on any source's change, on
 * {@link #checkNow()}, and every {@code verifyInterval} — every {@code probeInterval} while there is
 * no master) the current master and all proposed candidates are asked {@code ROLE} in parallel:
 * <table>
 *   <caption>Decision table</caption>
 *   <tr><th>current master answers</th><th>Sentinel majority names S, and S answers master</th><th>other nodes answering master</th><th>result</th></tr>
 *   <tr><td colspan="3">two servers answer master, one promoted from the other ({@code master_replid2} = the other's {@code master_replid})</td><td>the older is no claimant (reported), whatever a lagging Sentinel says</td></tr>
 *   <tr><td>master</td><td>no, or S is the current master</td><td>none</td><td>keep current</td></tr>
 *   <tr><td>master</td><td>yes, S differs</td><td>any</td><td>switch to S</td></tr>
 *   <tr><td>master</td><td>no</td><td>X</td><td>keep current; {@link MasterSnapshot#conflict()} reports X (never flap)</td></tr>
 *   <tr><td>replica, no answer, or none yet</td><td>yes</td><td>any</td><td>S</td></tr>
 *   <tr><td>replica, no answer, or none yet</td><td>no</td><td>one or more</td><td>the first by source order (Sentinel, labels, DNS, replication); others reported</td></tr>
 *   <tr><td>replica, no answer, or none yet</td><td>no</td><td>none, after probing every known node</td><td>no master</td></tr>
 * </table>
 * The first verified candidate wins even while other sources are stale (a lagging label does not
 * delay a switch that Sentinel or probing already proved). A source that fails never drops a master
 * that still answers {@code ROLE} master; it is reported in {@link MasterSnapshot#sources()}.
 *
 * <h2>Threads</h2>
 * One evaluation thread, a small I/O pool for probes and queries, one thread per Sentinel, one
 * listener thread, and fabric8's informer threads; all daemon, all named {@code rmd-*}, all ended by
 * {@link #close()}.
 */
public final class MasterDiscovery implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(MasterDiscovery.class);

  private final Settings settings;
  private final boolean sharedDefaultClient;
  private final ScheduledExecutorService loop;
  private final ExecutorService io;
  private final ExecutorService notifier;
  private final List<Source> sources = new ArrayList<>();
  private final SentinelSource sentinel;
  private final RoleProbe probe;
  private final Cache<HostAndPort, Boolean> knownNodes;
  private final List<MasterListener> listeners = new CopyOnWriteArrayList<>();
  private final AtomicBoolean queued = new AtomicBoolean();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Object masterMonitor = new Object();
  private final Warnings warnings = new Warnings(Duration.ofMinutes(1));

  private volatile MasterSnapshot snapshot;
  private volatile long rounds;
  private volatile long roundsStarted;
  private final AtomicLong verdictDue = new AtomicLong();
  // Below: touched only by the loop thread.
  private final Map<SourceKind, SourceState> states = new EnumMap<>(SourceKind.class);
  private ScheduledFuture<?> nextTick;
  private long firstSignalNanos;
  private List<HostAndPort> masterReplicas = List.of();
  private long lastSentinelRefreshNanos;

  private MasterDiscovery(Builder b, Settings settings) {
    this.settings = settings;
    this.loop = Executors.newSingleThreadScheduledExecutor(Threads.named("rmd-discovery"));
    this.io = Executors.newCachedThreadPool(Threads.named("rmd-discovery-io"));
    this.notifier = Executors.newSingleThreadExecutor(Threads.named("rmd-discovery-listener"));
    this.probe = new JedisRoleProbe(settings.redisConfig, settings.probeTimeout, io);
    this.knownNodes = Caffeine.newBuilder().expireAfterWrite(Duration.ofMinutes(30)).maximumSize(64).build();
    this.listeners.addAll(b.listeners);
    Runnable onChange = this::checkNow;
    try {
      if (b.sentinels.isEmpty()) {
        sentinel = null;
      } else {
        sentinel = new SentinelSource(b.sentinels, b.masterName, settings.sentinelConfig, settings.probeTimeout, b.sentinelHeartbeat,
            onChange, io, loop, warnings);
        sources.add(sentinel);
      }
      sharedDefaultClient = b.selector != null && b.kubernetesClient == null;
      if (b.selector != null) {
        KubernetesClient client = sharedDefaultClient ? SharedPodInformers.acquireDefaultClient() : b.kubernetesClient;
        try {
          String namespace = resolveNamespace(b.namespace, b.serviceAccountNamespaceFile, client);
          sources.add(new KubernetesLabelSource(client, new KubernetesLabelSource.Settings(namespace, b.selector, b.portNames,
              b.defaultPort, b.headlessService, b.clusterDomain, b.externalAddresses), onChange, warnings));
        } catch (RuntimeException e) {
          if (sharedDefaultClient) {
            SharedPodInformers.releaseDefaultClient();
          }
          throw e;
        }
      }
      if (b.dnsName != null) {
        sources.add(new DnsSource(b.dnsName, b.dnsPort, b.dnsTtl, io, onChange));
      }
    } catch (RuntimeException e) {
      shutdownExecutors();
      throw e;
    }
    Instant now = Instant.now();
    for (Source s : sources) {
      states.put(s.kind(), new SourceState(s.kind(), SourceState.Status.STARTING, "", now));
    }
    if (!b.staticNodes.isEmpty()) {
      states.put(SourceKind.NODE_PROBE, new SourceState(SourceKind.NODE_PROBE, SourceState.Status.UP, "", now));
      b.staticNodes.forEach(n -> knownNodes.put(n, Boolean.TRUE));
    }
    this.snapshot = new MasterSnapshot(null, null, null, 0, null, null, states);
    sources.forEach(Source::start);
    checkNow();
  }

  /** A builder; {@link Builder#build()} validates every setting and starts watching. */
  public static Builder builder() {
    return new Builder();
  }

  /** The current state; never blocks. */
  public MasterSnapshot snapshot() {
    return snapshot;
  }

  /**
   * The verified master, waiting up to {@code timeout} for one.
   *
   * @throws MasterUnavailableException when none is verified in time; the message names each source's state
   * @throws JedisException when this discovery is closed (not retried by pools or executors)
   */
  public HostAndPort awaitMaster(Duration timeout) {
    requireNonNegative(timeout, "timeout");
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (masterMonitor) {
      while (true) {
        if (closed.get()) {
          throw closedException();
        }
        MasterSnapshot s = snapshot;
        if (s.master().isPresent()) {
          return s.master().get();
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new MasterUnavailableException("no verified Redis master within " + timeout.toMillis() + " ms", s);
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(masterMonitor, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new MasterUnavailableException("interrupted while waiting for a Redis master", snapshot);
        }
      }
    }
  }

  /**
   * Asks for an evaluation round now, for example after a client saw {@code READONLY} or a broken
   * connection. Returns at once; rounds requested while one is pending are merged.
   */
  public void checkNow() {
    if (closed.get() || !queued.compareAndSet(false, true)) {
      return;
    }
    try {
      loop.execute(this::runRound);
    } catch (RejectedExecutionException e) {
      queued.set(false); // closing
    }
  }

  /** Adds a listener for master changes; see {@link MasterListener} for the threading contract. */
  public void addListener(MasterListener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  /** Removes a listener added earlier; no effect if absent. */
  public void removeListener(MasterListener listener) {
    listeners.remove(listener);
  }

  /** Listeners currently added (pools add one each). */
  int listenerCount() {
    return listeners.size();
  }

  /** Evaluation rounds completed so far. */
  long roundsCompleted() {
    return rounds;
  }

  /**
   * A client saw the master misbehave ({@code READONLY}, a refused connect, a broken connection):
   * re-check now, and until a round that started after this call has completed, have borrowers wait
   * for its verdict ({@link #awaitVerdict}) rather than open connections to a node that may no
   * longer be the master.
   */
  void doubt() {
    long due = roundsStarted + 1; // the next round to start sees whatever made the caller doubt
    verdictDue.accumulateAndGet(due, Math::max);
    checkNow();
  }

  /** Returns once no doubt is pending (its round has completed), or at the deadline, or when closed. Cheap when none is. */
  void awaitVerdict(long deadlineNanos) {
    long due = verdictDue.get();
    if (rounds >= due) {
      return;
    }
    synchronized (masterMonitor) {
      while (rounds < due && !closed.get()) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
          return;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(masterMonitor, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  /** The Redis client configuration (credentials, TLS, database) the library uses for data nodes. */
  JedisClientConfig clientConfig() {
    return settings.redisConfig;
  }

  /**
   * Stops every source and thread. Idempotent. Afterwards the snapshot names no master (so no pool
   * keeps using an unverified one) and {@link #awaitMaster} throws. Close the pools and clients that
   * follow this discovery first.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    for (Source s : sources) {
      try {
        s.close();
      } catch (RuntimeException e) {
        log.debug("closing {} source failed", s.kind(), e);
      }
    }
    shutdownExecutors();
    probe.close();
    if (sharedDefaultClient) {
      SharedPodInformers.releaseDefaultClient();
    }
    synchronized (masterMonitor) {
      snapshot = snapshot.closed(Instant.now());
      masterMonitor.notifyAll();
    }
  }

  private JedisException closedException() {
    return new JedisException("MasterDiscovery is closed (" + snapshot.describe() + "): close pools and clients before the discovery they follow");
  }

  @Override
  public String toString() {
    return "MasterDiscovery{" + snapshot.describe() + "}";
  }

  private void shutdownExecutors() {
    Threads.shutdown(loop, 2_000);
    Threads.shutdown(notifier, 2_000);
    Threads.shutdown(io, 2_000);
  }

  private void runRound() {
    queued.set(false); // a change during this round queues another
    if (closed.get()) {
      return;
    }
    roundsStarted++; // only this thread writes it
    try {
      long delay = round(System.nanoTime());
      if (nextTick != null) {
        nextTick.cancel(false);
      }
      nextTick = loop.schedule(this::runRound, delay, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // closing
    } catch (RuntimeException e) {
      log.error("master evaluation failed; retrying in {} ms", settings.probeInterval.toMillis(), e);
      try {
        nextTick = loop.schedule(this::runRound, settings.probeInterval.toNanos(), TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException closing) {
        // closing
      }
    }
  }

  /** One round; returns the nanoseconds until the next one. */
  private long round(long nowNanos) {
    Instant now = Instant.now();
    updateSourceStates(now);
    if (sentinel != null && nowNanos - lastSentinelRefreshNanos >= settings.sentinelRefresh.toNanos()) {
      lastSentinelRefreshNanos = nowNanos;
      sentinel.refresh();
    }
    Map<HostAndPort, SourceKind> hints = new LinkedHashMap<>();
    for (Source s : sources) {
      for (HostAndPort c : s.candidates()) {
        hints.putIfAbsent(c, s.kind());
      }
    }
    // The master's replicas as of the last round: a promotion shows on them first (Sentinel does not
    // pause the old master, so every round it goes unnoticed is writes lost). Live nodes, so cheap.
    for (HostAndPort replica : masterReplicas) {
      hints.putIfAbsent(replica, SourceKind.NODE_PROBE);
    }
    HostAndPort majority = sentinel == null ? null : sentinel.majority();
    MasterSnapshot before = snapshot;
    HostAndPort current = before.master().orElse(null);
    Decider.Decision d = Decider.decide(current, before.source().orElse(null), hints, majority, knownNodes.asMap().keySet(), probe);
    remember(d);
    masterReplicas = d.master() == null ? List.of() : d.roles().get(d.master()).replicas();

    boolean disagreement = d.master() == null || !d.master().equals(current) || d.conflict() != null
        || (majority != null && !majority.equals(d.master()));
    if (disagreement && firstSignalNanos == 0) {
      firstSignalNanos = nowNanos;
    }
    boolean changed = !Objects.equals(current, d.master());
    long generation = changed ? before.generation() + 1 : before.generation();
    HostAndPort lastKnown = d.master() != null ? d.master() : before.lastKnownMaster().orElse(null);
    MasterSnapshot after = new MasterSnapshot(d.master(), d.source(), d.master() == null ? null : now, generation, lastKnown,
        d.conflict(), states);
    snapshot = after;
    if (d.conflict() != null && !d.conflict().equals(before.conflict().orElse(null))) {
      log.warn("Redis split brain: {}", d.conflict());
    }
    if (changed) {
      long sinceSignalMs = firstSignalNanos == 0 ? 0 : (nowNanos - firstSignalNanos) / 1_000_000;
      if (d.master() != null) {
        log.info("Redis master {} -> {} (source {}, {} ms after the first signal)", current == null ? "none" : current, d.master(), d.source(),
            sinceSignalMs);
      } else {
        log.warn("Redis master {} lost and no node answers ROLE master: {}", current, describeRoles(d));
      }
      notifyListeners(before, after);
    }
    if (!disagreement) {
      firstSignalNanos = 0;
    }
    synchronized (masterMonitor) {
      rounds++;
      masterMonitor.notifyAll();
    }
    return (d.master() == null ? settings.probeInterval : settings.verifyInterval).toNanos();
  }

  private void remember(Decider.Decision d) {
    for (Map.Entry<HostAndPort, NodeRole> e : d.roles().entrySet()) {
      NodeRole.Kind k = e.getValue().kind();
      if (k == NodeRole.Kind.MASTER || k == NodeRole.Kind.REPLICA) {
        knownNodes.put(e.getKey(), Boolean.TRUE);
      }
    }
    d.learned().forEach(n -> knownNodes.put(n, Boolean.TRUE));
  }

  private static String describeRoles(Decider.Decision d) {
    List<String> parts = new ArrayList<>();
    d.roles().forEach((a, r) -> parts.add(a + "=" + r.kind() + (r.detail().isEmpty() ? "" : " (" + r.detail() + ")")));
    return parts.isEmpty() ? "no candidates" : String.join(", ", parts);
  }

  private void updateSourceStates(Instant now) {
    for (Source s : sources) {
      Source.Health h = s.health();
      SourceState before = states.get(s.kind());
      SourceState after = before.with(h.status(), h.detail(), now);
      if (after.status() != before.status()) {
        if (after.status() == SourceState.Status.UP) {
          if (before.status() == SourceState.Status.STARTING) {
            log.info("{} source is up", s.kind());
          } else {
            log.warn("{} source is back up (was {}: {})", s.kind(), before.status(), before.detail());
          }
        } else if (after.status() != SourceState.Status.STARTING) {
          log.warn("{} source is {}: {}", s.kind(), after.status(), after.detail());
        }
      }
      states.put(s.kind(), after);
    }
  }

  private void notifyListeners(MasterSnapshot before, MasterSnapshot after) {
    if (listeners.isEmpty()) {
      return;
    }
    try {
      notifier.execute(() -> {
        for (MasterListener l : listeners) {
          try {
            l.onMasterChange(before, after);
          } catch (RuntimeException e) {
            log.error("MasterListener {} threw; ignored", l, e);
          }
        }
      });
    } catch (RejectedExecutionException e) {
      // closing
    }
  }

  private static String resolveNamespace(String configured, Path serviceAccountFile, KubernetesClient client) {
    if (configured != null) {
      return configured;
    }
    try {
      if (Files.isReadable(serviceAccountFile)) {
        String ns = Files.readString(serviceAccountFile, StandardCharsets.UTF_8).trim();
        if (!ns.isEmpty()) {
          return ns;
        }
      }
    } catch (IOException e) {
      log.debug("cannot read {}", serviceAccountFile, e);
    }
    String fromClient = client.getNamespace();
    if (fromClient != null && !fromClient.isBlank()) {
      return fromClient;
    }
    throw new IllegalArgumentException("no Kubernetes namespace: not configured, no " + serviceAccountFile
        + " (not running in a pod?) and no namespace in the kubeconfig context; set namespace(\"<ns>\")");
  }

  private static Duration requirePositive(Duration d, String field) {
    if (d == null || d.isZero() || d.isNegative()) {
      throw new IllegalArgumentException(field + " must be positive, was " + d);
    }
    return d;
  }

  private static Duration requireNonNegative(Duration d, String field) {
    if (d == null || d.isNegative()) {
      throw new IllegalArgumentException(field + " must be zero or positive, was " + d);
    }
    return d;
  }

  /** Validated settings shared by the loop. */
  private static final class Settings {
    final JedisClientConfig redisConfig;
    final JedisClientConfig sentinelConfig;
    final Duration verifyInterval;
    final Duration probeInterval;
    final Duration probeTimeout;
    final Duration sentinelRefresh;

    Settings(Builder b) {
      this.redisConfig = b.redisConfig;
      this.sentinelConfig = b.sentinelConfig != null ? b.sentinelConfig : DefaultJedisClientConfig.builder().build();
      this.verifyInterval = b.verifyInterval;
      this.probeInterval = b.probeInterval;
      this.probeTimeout = b.probeTimeout;
      this.sentinelRefresh = b.sentinelRefresh;
    }
  }

  /**
   * Settings for a {@link MasterDiscovery}. Every setter checks its value at once and throws an
   * {@link IllegalArgumentException} that names the setting and the fix; {@link #build()} checks
   * the combination. Not thread-safe.
   */
  public static final class Builder {
    private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern LABEL_NAME = Pattern.compile("([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)");
    private static final Pattern LABEL_PREFIX = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
    private static final Pattern LABEL_VALUE = Pattern.compile("(([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?)");

    private Map<String, String> selector;
    private final Map<String, String> extraSelector = new LinkedHashMap<>();
    private String namespace;
    private KubernetesClient kubernetesClient;
    private List<String> portNames = List.of("redis", "tcp-redis");
    private int defaultPort = 6379;
    private String headlessService;
    private String clusterDomain = "cluster.local";
    private final Map<String, HostAndPort> externalAddresses = new LinkedHashMap<>();
    private Path serviceAccountNamespaceFile = Path.of("/var/run/secrets/kubernetes.io/serviceaccount/namespace");

    private final List<HostAndPort> sentinels = new ArrayList<>();
    private String masterName;
    private JedisClientConfig sentinelConfig;
    private Duration sentinelHeartbeat = Duration.ofSeconds(1);
    private Duration sentinelRefresh = Duration.ofSeconds(5);

    private String dnsName;
    private int dnsPort;
    private Duration dnsTtl = Duration.ofSeconds(5);

    private final Set<HostAndPort> staticNodes = new LinkedHashSet<>();
    private JedisClientConfig redisConfig = DefaultJedisClientConfig.builder().build();
    private Duration verifyInterval = Duration.ofMillis(500);
    private Duration probeInterval = Duration.ofMillis(100);
    private Duration probeTimeout = Duration.ofMillis(500);
    private final List<MasterListener> listeners = new ArrayList<>();

    private Builder() {}

    /** Watches pods with a preset's master label (for example {@link LabelPreset#BITNAMI}: {@code isMaster=true}). */
    public Builder kubernetesLabels(LabelPreset preset) {
      Objects.requireNonNull(preset, "kubernetesLabels preset");
      return kubernetesLabels(preset.selector());
    }

    /**
     * Watches pods matching an equality selector, {@code key=value[,key=value...]}, such as
     * {@code isMaster=true}. Only pods whose labels have exactly these values are candidates.
     */
    public Builder kubernetesLabels(String selector) {
      this.selector = parseSelector(selector, "kubernetesLabels");
      return this;
    }

    /** Narrows the pods further, for example to one release: {@code app.kubernetes.io/instance=my-redis}. */
    public Builder kubernetesSelector(String selector) {
      extraSelector.putAll(parseSelector(selector, "kubernetesSelector"));
      return this;
    }

    /**
     * The pods' namespace. Default: the pod's own service-account namespace, else the kubeconfig
     * context's namespace.
     */
    public Builder namespace(String namespace) {
      if (namespace == null || !NAMESPACE.matcher(namespace).matches()) {
        throw new IllegalArgumentException("namespace '" + namespace + "' is not a valid Kubernetes namespace "
            + "(lower-case letters, digits and '-', at most 63 characters, e.g. \"redis\")");
      }
      this.namespace = namespace;
      return this;
    }

    /** The fabric8 client to use (not closed by the discovery). Default: one auto-configured from the pod or kubeconfig. */
    public Builder kubernetesClient(KubernetesClient client) {
      this.kubernetesClient = Objects.requireNonNull(client, "kubernetesClient");
      return this;
    }

    /** Container port names tried in order for a pod's Redis port (default {@code redis}, then {@code tcp-redis}). */
    public Builder podPortNames(String... names) {
      if (names == null || names.length == 0 || List.of(names).stream().anyMatch(n -> n == null || n.isBlank())) {
        throw new IllegalArgumentException("podPortNames needs at least one non-blank name, e.g. podPortNames(\"redis\")");
      }
      this.portNames = List.of(names);
      return this;
    }

    /** The Redis port when a pod names none of {@link #podPortNames} (default 6379). */
    public Builder defaultPort(int port) {
      this.defaultPort = requirePort(port, "defaultPort");
      return this;
    }

    /**
     * Addresses pods by DNS through a headless Service, {@code <pod>.<service>.<ns>.svc.<clusterDomain>},
     * instead of {@code status.podIP}.
     */
    public Builder podHostsFromHeadlessService(String service) {
      if (service == null || !NAMESPACE.matcher(service).matches()) {
        throw new IllegalArgumentException("podHostsFromHeadlessService '" + service + "' is not a valid Service name");
      }
      this.headlessService = service;
      return this;
    }

    /** The cluster DNS domain for {@link #podHostsFromHeadlessService} (default {@code cluster.local}). */
    public Builder clusterDomain(String domain) {
      if (domain == null || !LABEL_PREFIX.matcher(domain).matches()) {
        throw new IllegalArgumentException("clusterDomain '" + domain + "' is not a DNS domain, e.g. \"cluster.local\"");
      }
      this.clusterDomain = domain;
      return this;
    }

    /**
     * For clients outside the cluster: the address of a pod's dedicated load balancer (such as
     * Bitnami's {@code sentinel.externalAccess} Service {@code <fullname>-<i>-svc}). Once any is set,
     * a labeled pod is reached only through its mapping.
     */
    public Builder externalAddress(String podName, String hostAndPort) {
      if (podName == null || podName.isBlank()) {
        throw new IllegalArgumentException("externalAddress pod name must not be blank");
      }
      externalAddresses.put(podName, parseHostAndPort(hostAndPort, "externalAddress for pod " + podName));
      return this;
    }

    /** Sentinels as {@code host:port} strings, such as {@code my-redis:26379}. */
    public Builder sentinels(String... hostAndPorts) {
      if (hostAndPorts == null || hostAndPorts.length == 0) {
        throw new IllegalArgumentException("sentinels needs at least one host:port, e.g. sentinels(\"my-redis:26379\")");
      }
      List<HostAndPort> parsed = new ArrayList<>();
      for (String s : hostAndPorts) {
        parsed.add(parseHostAndPort(s, "sentinel address"));
      }
      return sentinels(parsed);
    }

    /** Sentinels by address. */
    public Builder sentinels(Collection<HostAndPort> addresses) {
      if (addresses == null || addresses.isEmpty() || addresses.stream().anyMatch(Objects::isNull)) { // List.of().contains(null) throws
        throw new IllegalArgumentException("sentinels needs at least one address and no nulls");
      }
      for (HostAndPort a : addresses) {
        requirePort(a.getPort(), "sentinel port of " + a.getHost());
      }
      sentinels.clear();
      sentinels.addAll(new LinkedHashSet<>(addresses));
      return this;
    }

    /** The Sentinel master-set name, as in {@code sentinel monitor <name> ...} (Bitnami: {@code mymaster}). */
    public Builder masterName(String name) {
      if (name == null || name.isBlank() || name.chars().anyMatch(Character::isWhitespace)) {
        throw new IllegalArgumentException("masterName '" + name + "' must be a non-blank name without spaces, e.g. \"mymaster\"");
      }
      this.masterName = name;
      return this;
    }

    /** Credentials and TLS for the Sentinels, when they differ from the data nodes' (default: none). */
    public Builder sentinelClientConfig(JedisClientConfig config) {
      this.sentinelConfig = Objects.requireNonNull(config, "sentinelClientConfig");
      return this;
    }

    /** How often each Sentinel subscription is pinged; a link silent for three heartbeats reconnects (default 1 s). */
    public Builder sentinelHeartbeat(Duration heartbeat) {
      this.sentinelHeartbeat = requirePositive(heartbeat, "sentinelHeartbeat");
      return this;
    }

    /** How often every Sentinel is asked for the master again, besides its announcements (default 5 s). */
    public Builder sentinelRefreshInterval(Duration interval) {
      this.sentinelRefresh = requirePositive(interval, "sentinelRefreshInterval");
      return this;
    }

    /** A DNS name that resolves to the master, such as {@code redis-master.<ns>.svc.cluster.local}, and its port. */
    public Builder dnsName(String host, int port) {
      if (host == null || host.isBlank() || host.contains(" ") || host.contains(":") && !host.startsWith("[")) {
        throw new IllegalArgumentException("dnsName host '" + host + "' is not a host name, e.g. \"redis-master\"");
      }
      this.dnsName = host;
      this.dnsPort = requirePort(port, "dnsName port");
      return this;
    }

    /** How long a DNS answer is reused before resolving again (default 5 s). */
    public Builder dnsTtl(Duration ttl) {
      this.dnsTtl = requirePositive(ttl, "dnsTtl");
      return this;
    }

    /** Redis nodes to probe with {@code ROLE} when no source names a master (default: only nodes seen at run time). */
    public Builder nodes(String... hostAndPorts) {
      for (String s : hostAndPorts) {
        staticNodes.add(parseHostAndPort(s, "node address"));
      }
      return this;
    }

    /**
     * Credentials, TLS and database for the Redis data nodes, used by every connection the library
     * opens to them (the library applies its own timeouts to its probes). Default: no auth, no TLS.
     */
    public Builder clientConfig(JedisClientConfig config) {
      this.redisConfig = Objects.requireNonNull(config, "clientConfig");
      return this;
    }

    /**
     * How often a healthy master and its replicas are asked {@code ROLE} (default 500 ms). This bounds
     * how long a promotion that no source announced yet goes unnoticed: Sentinel does not pause the
     * old master, so writes it accepts meanwhile are lost when it is demoted.
     */
    public Builder verifyInterval(Duration interval) {
      this.verifyInterval = requirePositive(interval, "verifyInterval");
      return this;
    }

    /** How often nodes are probed while there is no master (default 100 ms). */
    public Builder probeInterval(Duration interval) {
      this.probeInterval = requirePositive(interval, "probeInterval");
      return this;
    }

    /** Connect and read timeout of every probe and Sentinel query (default 500 ms). */
    public Builder probeTimeout(Duration timeout) {
      this.probeTimeout = requirePositive(timeout, "probeTimeout");
      return this;
    }

    /** Adds a listener for master changes (see {@link MasterListener}). */
    public Builder listener(MasterListener listener) {
      listeners.add(Objects.requireNonNull(listener, "listener"));
      return this;
    }

    Builder serviceAccountNamespaceFile(Path file) {
      this.serviceAccountNamespaceFile = file;
      return this;
    }

    /**
     * Checks the combination of settings and starts watching. Returns at once; use
     * {@link MasterDiscovery#awaitMaster(Duration)} to wait for the first verified master.
     *
     * @throws IllegalArgumentException naming the setting and the fix
     */
    public MasterDiscovery build() {
      if (selector == null && sentinels.isEmpty() && dnsName == null && staticNodes.isEmpty()) {
        throw new IllegalArgumentException("no source configured: set kubernetesLabels(LabelPreset.BITNAMI), "
            + "sentinels(\"host:26379\") with masterName(\"mymaster\"), or dnsName(\"redis-master\", 6379)");
      }
      if (!sentinels.isEmpty() && masterName == null) {
        throw new IllegalArgumentException("sentinels " + sentinels + " given without masterName: set masterName(\"mymaster\") "
            + "(the name in the Sentinels' 'sentinel monitor <name> ...' line)");
      }
      if (sentinels.isEmpty() && masterName != null) {
        throw new IllegalArgumentException("masterName '" + masterName + "' given without sentinels: add sentinels(\"host:26379\")");
      }
      if (sentinels.isEmpty() && sentinelConfig != null) {
        throw new IllegalArgumentException("sentinelClientConfig given without sentinels: add sentinels(\"host:26379\")");
      }
      if (selector == null && (!extraSelector.isEmpty() || namespace != null || kubernetesClient != null || headlessService != null
          || !externalAddresses.isEmpty())) {
        throw new IllegalArgumentException("Kubernetes settings given without kubernetesLabels: add kubernetesLabels(LabelPreset.BITNAMI) "
            + "or a selector such as kubernetesLabels(\"isMaster=true\")");
      }
      if (headlessService != null && !externalAddresses.isEmpty()) {
        throw new IllegalArgumentException("podHostsFromHeadlessService and externalAddress both set: choose one way to address pods");
      }
      if (probeTimeout.compareTo(verifyInterval) > 0) {
        throw new IllegalArgumentException("probeTimeout " + probeTimeout + " is longer than verifyInterval " + verifyInterval
            + ": lower probeTimeout or raise verifyInterval");
      }
      if (selector != null && !extraSelector.isEmpty()) {
        Map<String, String> merged = new LinkedHashMap<>(selector);
        for (Map.Entry<String, String> e : extraSelector.entrySet()) {
          String had = merged.putIfAbsent(e.getKey(), e.getValue());
          if (had != null && !had.equals(e.getValue())) {
            throw new IllegalArgumentException("kubernetesSelector " + e.getKey() + "=" + e.getValue() + " contradicts kubernetesLabels "
                + e.getKey() + "=" + had);
          }
        }
        selector = merged;
        extraSelector.clear();
      }
      return new MasterDiscovery(this, new Settings(this));
    }

    private static Map<String, String> parseSelector(String selector, String field) {
      if (selector == null || selector.isBlank()) {
        throw new IllegalArgumentException(field + " selector is empty: use a preset such as LabelPreset.BITNAMI, or key=value like \"isMaster=true\"");
      }
      Map<String, String> out = new LinkedHashMap<>();
      for (String part : selector.split(",")) {
        String p = part.trim();
        int eq = p.indexOf('=');
        if (eq <= 0 || p.startsWith("!") || p.contains("!=") || p.indexOf('=', eq + 1) >= 0 && !p.startsWith("==", eq)) {
          throw new IllegalArgumentException(field + " '" + selector + "': '" + p + "' is not key=value (only equality selectors are supported)");
        }
        String key = p.substring(0, eq).trim();
        String value = p.substring(p.startsWith("==", eq) ? eq + 2 : eq + 1).trim();
        if (!validLabelKey(key)) {
          throw new IllegalArgumentException(field + " '" + selector + "': '" + key + "' is not a valid label key ([prefix/]name, name up to 63 characters)");
        }
        if (value.isEmpty() || !LABEL_VALUE.matcher(value).matches() || value.length() > 63) {
          throw new IllegalArgumentException(field + " '" + selector + "': '" + value + "' is not a valid label value for " + key);
        }
        out.put(key, value);
      }
      return out;
    }

    private static boolean validLabelKey(String key) {
      int slash = key.indexOf('/');
      String name = slash < 0 ? key : key.substring(slash + 1);
      if (slash >= 0) {
        String prefix = key.substring(0, slash);
        if (prefix.isEmpty() || prefix.length() > 253 || !LABEL_PREFIX.matcher(prefix).matches()) {
          return false;
        }
      }
      return !name.isEmpty() && name.length() <= 63 && LABEL_NAME.matcher(name).matches();
    }

    private static HostAndPort parseHostAndPort(String value, String field) {
      if (value == null || value.isBlank()) {
        throw new IllegalArgumentException(field + " must be host:port, was " + value);
      }
      int colon = value.lastIndexOf(':');
      if (colon <= 0 || colon == value.length() - 1) {
        throw new IllegalArgumentException(field + " '" + value + "' is not host:port, e.g. \"my-redis:26379\"");
      }
      String host = value.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      int port;
      try {
        port = Integer.parseInt(value.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(field + " '" + value + "' has a port that is not a number");
      }
      return new HostAndPort(host, requirePort(port, field + " '" + value + "' port"));
    }

    private static int requirePort(int port, String field) {
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException(field + " " + port + " is out of range 1..65535");
      }
      return port;
    }
  }
}
