package io.github.redismasterdiscovery;

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
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
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
 * {@link #checkNow()}, after a pool saw {@code READONLY} or a broken connection, every
 * {@code verifyInterval} while the master answers, every {@code probeInterval} while there is no
 * master) the current master and all proposed candidates are asked {@code ROLE} in parallel:
 * <table>
 *   <caption>Decision table</caption>
 *   <tr><th>current master answers</th><th>Sentinel majority names S, and S answers master</th><th>other nodes answering master</th><th>result</th></tr>
 *   <tr><td colspan="3">two servers answer master, one promoted from the other ({@code master_replid2} = the other's {@code master_replid})</td><td>the older is no claimant (reported), whatever a lagging Sentinel says</td></tr>
 *   <tr><td colspan="3">a server only probing found answers master but shares no replication history with this group</td><td>ignored (reported)</td></tr>
 *   <tr><td>master</td><td>no, or S is the current master</td><td>none</td><td>keep current</td></tr>
 *   <tr><td>master</td><td>yes, S differs</td><td>any</td><td>switch to S</td></tr>
 *   <tr><td>master</td><td>no</td><td>X</td><td>keep current; {@link MasterSnapshot#conflict()} reports X (never flap)</td></tr>
 *   <tr><td>no answer in time (a stall)</td><td>no, or S is the current master</td><td>none</td><td>keep current as suspect ({@link MasterSnapshot#suspectSince()}) until the Sentinels agree it is down or {@code suspectTimeout} passes</td></tr>
 *   <tr><td>replica, refused, or none yet</td><td>yes</td><td>any</td><td>S</td></tr>
 *   <tr><td>replica, refused, or none yet</td><td>no</td><td>one or more</td><td>the first by source order (Sentinel, labels, DNS, configured nodes, replication); others reported</td></tr>
 *   <tr><td>replica, refused, or none yet</td><td>no</td><td>none, after probing every known node</td><td>no master: {@link #awaitMaster} throws {@link MasterUnavailableException} naming what each node answered and what each source sees</td></tr>
 * </table>
 * A candidate a source has just named (a newly labeled pod, the replica Sentinel's leader is
 * promoting, a {@code +switch-master}) is asked again every few ms until it answers master; a
 * promotion from the current master (its replication history shows it) is followed at once. The
 * first verified candidate wins even while other sources are stale, and a source that fails never
 * drops a master that still answers; it is reported in {@link MasterSnapshot#sources()}.
 *
 * <h2>Write fence</h2>
 * When Sentinel's leader announces the replica it promotes away from the current master, pools
 * following this discovery stop starting commands on that master until the new one is proven (or
 * the failover aborts, or {@code writeFenceTimeout} passes): Sentinel does not pause the old master,
 * so writes it accepted after the promotion would be lost. On by default ({@link Builder#writeFence}).
 *
 * <h2>Threads</h2>
 * None of its own: every discovery in the JVM shares one timer thread, a bounded I/O pool (16
 * threads at most, gone when idle), one listener thread, one subscriber thread per Sentinel and one
 * pod informer per watched pod set; all daemon, all named {@code rmd-*}, all ended with the last
 * discovery's {@link #close()}.
 */
public final class MasterDiscovery implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(MasterDiscovery.class);

  private final JedisClientConfig clientConfig;
  private final Duration probeTimeout;
  private final AddressTranslator translator;
  private final boolean sharedDefaultClient;
  private final SharedRuntime runtime;
  private final RoleProbe probe;
  private final List<Source> sources = new ArrayList<>();
  private final DiscoveryLoop loop;
  private final List<MasterListener> listeners = new CopyOnWriteArrayList<>();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Warnings warnings = new Warnings(Duration.ofMinutes(1));
  private final Set<HostAndPort> staticNodes;
  private final AtomicLong misconfiguredSinceNanos = new AtomicLong(-1);

  /**
   * How long every way to a master must stay refused for a configuration error before
   * {@link #awaitMaster} gives up early.
   */
  static final Duration MISCONFIGURATION_GRACE = Duration.ofSeconds(1);
  private static final long MISCONFIGURATION_CHECK_NANOS = Duration.ofMillis(100).toNanos();

  private MasterDiscovery(Builder b) {
    this.clientConfig = b.redisConfig;
    this.staticNodes = Set.copyOf(b.staticNodes);
    this.runtime = SharedRuntime.acquire();
    this.listeners.addAll(b.listeners);
    DiscoveryLoop.Env env = b.env != null ? b.env : runtimeEnv(runtime);
    SentinelSource sentinel = null;
    boolean usesDefaultClient = false;
    Forward events = new Forward();
    AddressTranslator translator = AddressTranslator.IN_CLUSTER;
    RoleProbe roleProbe = null;
    try {
      ExternalAccess access = b.externalAccess != null ? b.externalAccess : b.externalAddresses.isEmpty() ? null : ExternalAccess.staticMap();
      if (access != null && access.mode == ExternalAccess.Mode.MAPPER) {
        translator = AddressTranslator.of(access.mapper);
      }
      usesDefaultClient = b.effectiveSelector != null && b.kubernetesClient == null;
      if (b.effectiveSelector != null) {
        KubernetesClient client = usesDefaultClient ? SharedPodInformers.acquireDefaultClient() : b.kubernetesClient;
        try {
          String namespace = resolveNamespace(b.namespace, b.serviceAccountNamespaceFile, client);
          boolean kubernetesAddresses = access != null && access.mode != ExternalAccess.Mode.MAPPER;
          if (kubernetesAddresses) {
            // Every pod of the release (replicas too: Sentinel and ROLE name them), the master label filtered here.
            KubernetesAddresses addresses = new KubernetesAddresses(client, namespace, b.releaseSelector, access, Map.copyOf(b.externalAddresses),
                b.portNames, b.defaultPort, events);
            translator = addresses;
            sources.add(addresses);
          }
          sources.add(new KubernetesLabelSource(client, new KubernetesLabelSource.Settings(namespace, b.effectiveSelector,
              kubernetesAddresses ? b.releaseSelector : b.effectiveSelector, b.portNames, b.defaultPort, b.headlessService, b.clusterDomain),
              translator, events, warnings));
        } catch (RuntimeException e) {
          if (usesDefaultClient) {
            SharedPodInformers.releaseDefaultClient();
          }
          throw e;
        }
      }
      if (!b.sentinels.isEmpty()) {
        JedisClientConfig sentinelConfig = b.sentinelConfig != null ? b.sentinelConfig : DefaultJedisClientConfig.builder().build();
        sentinel = new SentinelSource(watchedSentinels(b.sentinels, b.sentinelSubscriptions), b.sentinels.size(), b.masterName,
            sentinelConfig, b.probeTimeout, b.sentinelHeartbeat, runtime, events, events, translator, warnings);
        sources.add(0, sentinel); // first: source order is preference order
      }
      if (b.dnsName != null) {
        sources.add(new DnsSource(b.dnsName, b.dnsPort, b.dnsTtl, runtime.ioExecutor(), events));
      }
      roleProbe = b.probe != null ? b.probe : new JedisRoleProbe(b.redisConfig, b.probeTimeout, runtime, translator);
    } catch (RuntimeException e) {
      sources.forEach(Source::close);
      SharedRuntime.release(runtime);
      throw e;
    }
    this.probe = roleProbe;
    this.probeTimeout = b.probeTimeout;
    this.translator = translator;
    this.sharedDefaultClient = usesDefaultClient;
    DiscoveryLoop.Timing timing = new DiscoveryLoop.Timing(b.verifyInterval, b.probeInterval, b.suspectTimeout, b.chaseTimeout,
        b.writeFence, b.writeFenceTimeout, b.sentinelRefresh);
    this.loop = new DiscoveryLoop(timing, env, probe, List.copyOf(sources), sentinel, b.staticNodes, listeners, translator);
    events.target = loop;
    sources.forEach(Source::start);
    loop.start();
  }

  /** Sources are built before the loop they report to. */
  private static final class Forward implements Source.Events, SentinelSource.FailoverSignals {
    volatile DiscoveryLoop target;

    @Override
    public void changed() {
      DiscoveryLoop t = target;
      if (t != null) {
        t.changed();
      }
    }

    @Override
    public void proposed(HostAndPort candidate, SourceKind source, String why) {
      DiscoveryLoop t = target;
      if (t != null) {
        t.proposed(candidate, source, why);
      }
    }

    @Override
    public void promotionStarting(HostAndPort master, HostAndPort candidate) {
      DiscoveryLoop t = target;
      if (t != null) {
        t.promotionStarting(master, candidate);
      }
    }

    @Override
    public void promotionAborted(HostAndPort master) {
      DiscoveryLoop t = target;
      if (t != null) {
        t.promotionAborted(master);
      }
    }

    @Override
    public void masterDown(HostAndPort master) {
      DiscoveryLoop t = target;
      if (t != null) {
        t.masterDown(master);
      }
    }
  }

  private static DiscoveryLoop.Env runtimeEnv(SharedRuntime runtime) {
    return new DiscoveryLoop.Env() {
      @Override
      public long nanoTime() {
        return System.nanoTime();
      }

      @Override
      public Instant now() {
        return Instant.now();
      }

      @Override
      public DiscoveryLoop.Cancellable schedule(long delayNanos, Runnable task) {
        ScheduledFuture<?> f = delayNanos <= 0 && runtime.io(task) ? null : runtime.later(delayNanos, task);
        return () -> {
          if (f != null) {
            f.cancel(false);
          }
        };
      }

      @Override
      public void notify(Runnable task) {
        try {
          runtime.listeners.execute(task);
        } catch (RejectedExecutionException e) {
          // the last discovery is closing
        }
      }

      @Override
      public void notifyFollowers(Runnable task) {
        try {
          runtime.followers.execute(task);
        } catch (RejectedExecutionException e) {
          // the last discovery is closing
        }
      }
    };
  }

  /** A builder; {@link Builder#build()} validates every setting and starts watching. */
  public static Builder builder() {
    return new Builder();
  }

  /** The current state; never blocks. */
  public MasterSnapshot snapshot() {
    return loop.snapshot();
  }

  /**
   * The verified master, waiting up to {@code timeout} for one. Gives up early when, for a second,
   * every way to a master has been refused for a configuration error that no retry cures: every
   * configured source is (wrong or unexpected Sentinel credentials, an unknown master set, RBAC 403
   * on the pod watch), or every node asked refuses our credentials.
   *
   * @throws MasterUnavailableException when none is verified in time, or at once for such an error
   *     ({@link MasterUnavailableException#configurationErrors()}); the message names what each node
   *     answered and what each source sees
   * @throws JedisException when this discovery is closed (not retried by pools or executors)
   */
  public HostAndPort awaitMaster(Duration timeout) {
    requireNonNegative(timeout, "timeout");
    if (closed.get()) {
      throw closedException();
    }
    HostAndPort master;
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      while (true) {
        long left = Math.max(0, deadline - System.nanoTime());
        master = loop.awaitMaster(Math.min(left, MISCONFIGURATION_CHECK_NANOS));
        if (master != null || closed.get()) {
          break;
        }
        Map<SourceKind, String> blocking = lastingMisconfiguration();
        if (!blocking.isEmpty()) {
          throw new MasterUnavailableException("no Redis master can be verified, every way to one is refused for a configuration error: "
              + String.join("; ", blocking.values()), snapshot(), blocking);
        }
        if (left <= MISCONFIGURATION_CHECK_NANOS) {
          break;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new MasterUnavailableException("interrupted while waiting for a Redis master", snapshot());
    }
    if (master != null) {
      return master;
    }
    if (closed.get()) {
      throw closedException();
    }
    throw new MasterUnavailableException("no verified Redis master within " + timeout.toMillis() + " ms", snapshot());
  }

  /**
   * What blocks every way to a master ({@link Misconfiguration#blocking}), once it has done so for
   * {@link #MISCONFIGURATION_GRACE}: a RoleBinding or a Sentinel applied a moment after the
   * application started is not taken for a mistake.
   */
  private Map<SourceKind, String> lastingMisconfiguration() {
    Map<SourceKind, String> sourceErrors = new EnumMap<>(SourceKind.class);
    for (Source s : sources) {
      if (s.kind() != SourceKind.SERVICES) { // proposes nothing: it cannot open a way to a master
        sourceErrors.put(s.kind(), s.misconfiguration());
      }
    }
    Map<SourceKind, String> blocking = Misconfiguration.blocking(snapshot(), sourceErrors, staticNodes, probe.misconfigured());
    if (blocking.isEmpty()) {
      misconfiguredSinceNanos.set(-1);
      return Map.of();
    }
    long now = System.nanoTime();
    misconfiguredSinceNanos.compareAndSet(-1, now);
    return now - misconfiguredSinceNanos.get() >= MISCONFIGURATION_GRACE.toNanos() ? blocking : Map.of();
  }

  /**
   * Asks for an evaluation round now, for example after a client saw {@code READONLY} or a broken
   * connection. Returns at once; rounds requested while one is running are merged. While no master
   * is verified, rounds are spaced {@code probeInterval}, then twice and four times it (jittered),
   * whoever asks, so a fleet whose master died does not probe at its writers' failure rate.
   */
  public void checkNow() {
    loop.checkNow();
  }

  /** Adds a listener for master changes; see {@link MasterListener} for the threading contract. */
  public void addListener(MasterListener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  /** Removes a listener added earlier; no effect if absent. */
  public void removeListener(MasterListener listener) {
    listeners.remove(listener);
  }

  /** Listeners and followers currently added (pools add one follower each). */
  int listenerCount() {
    return listeners.size() + loop.followerCount();
  }

  /** Adds a pool that follows the master: told of changes on its own thread, before the application's listeners. */
  void addFollower(MasterListener follower) {
    loop.addFollower(follower);
  }

  void removeFollower(MasterListener follower) {
    loop.removeFollower(follower);
  }

  /** Evaluation rounds completed so far. */
  long roundsCompleted() {
    return loop.roundsCompleted();
  }

  /** A client saw the master misbehave: re-check now, and have borrowers wait for that verdict (see {@link DiscoveryLoop#doubt()}). */
  void doubt() {
    loop.doubt();
  }

  /** Returns once no doubt is pending and no write fence holds the master, or at the deadline. */
  void awaitVerdict(long deadlineNanos) {
    loop.awaitVerdict(deadlineNanos);
  }

  /** The generation under a write fence, or -1. */
  long fencedGeneration() {
    return loop.fencedGeneration();
  }

  /** The generation whose connections may send without asking anything (one volatile read), or -1 while a write fence holds it. */
  long openGeneration() {
    return loop.openGeneration();
  }

  /**
   * True when no evaluation round has completed for much longer than rounds are ever apart
   * ({@code 2 × verifyInterval + 10 s}): the snapshot may be stale, and health indicators report it.
   * A round that fails (a source or an application's mapper threw) is logged and the next one is
   * scheduled, so this stays false unless something keeps failing.
   */
  public boolean evaluationOverdue() {
    return loop.evaluationOverdue();
  }

  void addFenceObserver(DiscoveryLoop.FenceObserver o) {
    loop.addFenceObserver(o);
  }

  void removeFenceObserver(DiscoveryLoop.FenceObserver o) {
    loop.removeFenceObserver(o);
  }

  /** The Redis client configuration (credentials, TLS, database) as the application gave it. */
  JedisClientConfig clientConfig() {
    return clientConfig;
  }

  /** How long one node may take to answer a probe. */
  Duration probeTimeout() {
    return probeTimeout;
  }

  /** How addresses named by Redis and Sentinel are reached from here. */
  AddressTranslator translator() {
    return translator;
  }

  /** The threads every discovery shares. */
  SharedRuntime runtime() {
    return runtime;
  }

  /**
   * Stops every source. Idempotent, and publishes nothing: no listener hears of a "lost" master
   * because the discovery closed. Afterwards the snapshot names no master (so no pool keeps using
   * an unverified one) and {@link #awaitMaster} throws. Close the pools and clients that follow this
   * discovery first.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    loop.close();
    for (Source s : sources) {
      try {
        s.close();
      } catch (RuntimeException e) {
        log.debug("closing {} source failed", s.kind(), e);
      }
    }
    probe.close();
    if (sharedDefaultClient) {
      SharedPodInformers.releaseDefaultClient();
    }
    SharedRuntime.release(runtime);
  }

  private JedisException closedException() {
    return new JedisException("MasterDiscovery is closed (" + snapshot().describe() + "): close pools and clients before the discovery they follow");
  }

  @Override
  public String toString() {
    return "MasterDiscovery{" + snapshot().describe() + "}";
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

  /** The Sentinels this discovery subscribes to: all of them, or {@code count} drawn at random. */
  static List<HostAndPort> watchedSentinels(List<HostAndPort> configured, Integer count) {
    if (count == null || count >= configured.size()) {
      return configured;
    }
    List<HostAndPort> shuffled = new ArrayList<>(configured);
    java.util.Collections.shuffle(shuffled, java.util.concurrent.ThreadLocalRandom.current());
    return List.copyOf(shuffled.subList(0, count));
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

  /**
   * Settings for a {@link MasterDiscovery}. Every setter checks its value at once and throws an
   * {@link IllegalArgumentException} that names the setting and the fix; {@link #build()} checks
   * the combination. Not thread-safe.
   */
  public static final class Builder {
    private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

    private Map<String, String> selector;
    private final Map<String, String> extraSelector = new LinkedHashMap<>();
    private String namespace;
    private KubernetesClient kubernetesClient;
    private List<String> portNames = List.of("redis", "tcp-redis");
    private int defaultPort = 6379;
    private String headlessService;
    private String clusterDomain = "cluster.local";
    private final Map<String, HostAndPort> externalAddresses = new LinkedHashMap<>();
    private ExternalAccess externalAccess;
    private Map<String, String> effectiveSelector; // the master label and the release's, set by build()
    private Map<String, String> releaseSelector;   // kubernetesSelector alone, set by build()
    private Path serviceAccountNamespaceFile = Path.of("/var/run/secrets/kubernetes.io/serviceaccount/namespace");

    private final List<HostAndPort> sentinels = new ArrayList<>();
    private String masterName;
    private JedisClientConfig sentinelConfig;
    private Duration sentinelHeartbeat = Duration.ofSeconds(5);
    private Duration sentinelRefresh = Duration.ofSeconds(30);
    private Integer sentinelSubscriptions;

    private String dnsName;
    private int dnsPort;
    private Duration dnsTtl = Duration.ofSeconds(5);

    private final Set<HostAndPort> staticNodes = new LinkedHashSet<>();
    private JedisClientConfig redisConfig = DefaultJedisClientConfig.builder().build();
    private Duration verifyInterval = Duration.ofSeconds(5);
    private Duration probeInterval = Duration.ofMillis(100);
    private Duration probeTimeout = Duration.ofMillis(500);
    private Duration suspectTimeout = Duration.ofSeconds(5);
    private Duration chaseTimeout = Duration.ofSeconds(10);
    private boolean writeFence = true;
    private Duration writeFenceTimeout = Duration.ofSeconds(5);
    private final List<MasterListener> listeners = new ArrayList<>();
    private DiscoveryLoop.Env env;
    private RoleProbe probe;

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
      this.selector = Selectors.parse(selector, "kubernetesLabels");
      return this;
    }

    /** Narrows the pods further, for example to one release: {@code app.kubernetes.io/instance=my-redis}. */
    public Builder kubernetesSelector(String selector) {
      extraSelector.putAll(Selectors.parse(selector, "kubernetesSelector"));
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
      if (domain == null || !Selectors.LABEL_PREFIX.matcher(domain).matches()) {
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

    /**
     * For clients outside the cluster: how the addresses Sentinels, nodes and pods announce are
     * reached from here, such as {@link ExternalAccess#loadBalancers()} (one LoadBalancer Service per
     * pod, Bitnami's {@code sentinel.externalAccess}). The Sentinels themselves are given as they are
     * reached from here ({@link #sentinels(String...)}: their load balancers).
     */
    public Builder externalAccess(ExternalAccess access) {
      this.externalAccess = Objects.requireNonNull(access, "externalAccess");
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

    /**
     * Subscribes to only {@code count} of the configured Sentinels, drawn at random by each
     * discovery, so that a fleet's subscriptions spread evenly: each Sentinel then holds about
     * {@code count / sentinels} of the fleet's connections (default: every Sentinel). The Sentinel
     * majority is counted over the Sentinels watched.
     *
     * <p><b>What it costs:</b> only the Sentinel that leads a failover announces it before the
     * promotion. A discovery that does not watch the leader raises no write fence: until it learns of
     * the new master (its own Sentinel's {@code +switch-master}, up to about 2 s later when the other
     * Sentinels hear the leader, or the label move), it keeps writing to the old master, and on a
     * {@code SENTINEL FAILOVER} Redis discards what the old master acknowledged after the promotion.
     * With {@code count} of {@code n} Sentinels that happens on about {@code 1 - count / n} of
     * failovers. Prefer raising {@code maxclients} on the Sentinels, which costs nothing; use this only
     * where that is impossible (see docs/operations.md, capacity).
     *
     * @throws IllegalArgumentException unless at least 1 (and, at {@link #build()}, at most the number of Sentinels)
     */
    public Builder sentinelSubscriptions(int count) {
      if (count < 1) {
        throw new IllegalArgumentException("sentinelSubscriptions must be at least 1, was " + count);
      }
      this.sentinelSubscriptions = count;
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

    /**
     * Credentials and TLS for the Sentinels. Default: none (no AUTH, plain text), whatever
     * {@link #clientConfig} says: Sentinels usually have their own password, or none. With TLS
     * Sentinels, pass their TLS settings here too.
     */
    public Builder sentinelClientConfig(JedisClientConfig config) {
      this.sentinelConfig = Objects.requireNonNull(config, "sentinelClientConfig");
      return this;
    }

    /**
     * How often each Sentinel subscription is pinged; a link silent for three heartbeats reconnects
     * (default 5 s: 0.2 commands/s per pod per Sentinel, a half-open link noticed within 15 s).
     * Discoveries in one JVM share a subscription per Sentinel when they use the same credentials and
     * heartbeat.
     */
    public Builder sentinelHeartbeat(Duration heartbeat) {
      this.sentinelHeartbeat = requirePositive(heartbeat, "sentinelHeartbeat");
      return this;
    }

    /**
     * At most how often the Sentinels are asked for the master again on a short-lived connection
     * while one of them names another master than the proven one (a missed announcement), besides
     * their announcements and the query on every (re)subscribe (default 30 s). While they all agree
     * with the proven master, none is asked: an idle fleet opens no connection to the Sentinels.
     */
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
      Objects.requireNonNull(hostAndPorts, "nodes(hostAndPorts): pass addresses such as \"redis-0.redis-headless:6379\", not null");
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
     * How often a healthy master is asked {@code ROLE} when nothing happens (default 5 s): the safety
     * net under the event paths (Sentinel's announcements, label changes, pools' errors), which carry
     * every failover. An idle discovery costs each master one {@code ROLE} per interval.
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

    /**
     * How long a master that stopped answering (a stall: no reply within the probe timeout, not a
     * refused connection) stays the master, marked suspect, while no other node claims master and
     * the Sentinel majority still names it (default 5 s). The Sentinels agreeing it is down
     * ({@code +odown}) ends it sooner. A master lost and found again unchanged is not a failover:
     * pools keep their connections either way.
     */
    public Builder suspectTimeout(Duration timeout) {
      this.suspectTimeout = requireNonNegative(timeout, "suspectTimeout");
      return this;
    }

    /**
     * Whether pools stop starting commands on the master once Sentinel's leader announces the
     * replica it is promoting, until the new master is proven (default true). Sentinel does not
     * pause the old master, so without the fence every write it accepts after the promotion is lost.
     */
    public Builder writeFence(boolean enabled) {
      this.writeFence = enabled;
      return this;
    }

    /** The longest a write fence holds when no promotion is proven (default 5 s); then writes go to the old master again. */
    public Builder writeFenceTimeout(Duration timeout) {
      this.writeFenceTimeout = requirePositive(timeout, "writeFenceTimeout");
      return this;
    }

    /** How long a newly named candidate is asked again and again until it answers master (default 10 s). */
    Builder chaseTimeout(Duration timeout) {
      this.chaseTimeout = requirePositive(timeout, "chaseTimeout");
      return this;
    }

    /** Time and timers (tests drive them by hand). */
    Builder env(DiscoveryLoop.Env env) {
      this.env = Objects.requireNonNull(env, "env");
      return this;
    }

    /** The ROLE probe (tests answer from a table). */
    Builder probe(RoleProbe probe) {
      this.probe = Objects.requireNonNull(probe, "probe");
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
            + "sentinels(\"host:26379\") with masterName(\"mymaster\"), dnsName(\"redis-master\", 6379), or nodes(\"host:6379\")");
      }
      if (!sentinels.isEmpty() && masterName == null) {
        throw new IllegalArgumentException("sentinels " + sentinels + " given without masterName: set masterName(\"mymaster\") "
            + "(the name in the Sentinels' 'sentinel monitor <name> ...' line)");
      }
      if (sentinels.isEmpty() && masterName != null) {
        throw new IllegalArgumentException("masterName '" + masterName + "' given without sentinels: add sentinels(\"host:26379\")");
      }
      if (sentinelSubscriptions != null && sentinelSubscriptions > sentinels.size()) {
        throw new IllegalArgumentException("sentinelSubscriptions " + sentinelSubscriptions + " exceeds the " + sentinels.size()
            + " Sentinel(s) configured: use at most " + sentinels.size() + ", or leave it unset to watch every Sentinel");
      }
      if (sentinels.isEmpty() && sentinelConfig != null) {
        throw new IllegalArgumentException("sentinelClientConfig given without sentinels: add sentinels(\"host:26379\")");
      }
      if (selector == null && (!extraSelector.isEmpty() || namespace != null || kubernetesClient != null || headlessService != null
          || !externalAddresses.isEmpty() || (externalAccess != null && externalAccess.mode != ExternalAccess.Mode.MAPPER))) {
        throw new IllegalArgumentException("Kubernetes settings given without kubernetesLabels: add kubernetesLabels(LabelPreset.BITNAMI) "
            + "or a selector such as kubernetesLabels(\"isMaster=true\")");
      }
      if (headlessService != null && (!externalAddresses.isEmpty() || externalAccess != null)) {
        throw new IllegalArgumentException("podHostsFromHeadlessService and external access both set: choose one way to address pods "
            + "(headless-Service names inside the cluster, external addresses outside it)");
      }
      if (externalAccess != null && !externalAddresses.isEmpty()) {
        throw new IllegalArgumentException("externalAccess(" + externalAccess + ") and externalAddress(..) both set: choose one way to "
            + "reach the pods from outside the cluster");
      }
      boolean kubernetesAddresses = !externalAddresses.isEmpty() || (externalAccess != null && externalAccess.watchesServices());
      if (kubernetesAddresses && extraSelector.isEmpty()) {
        throw new IllegalArgumentException("external access needs every pod of the release, not only the labeled master: add "
            + "kubernetesSelector(\"app.kubernetes.io/instance=<release>\")");
      }
      if (probeTimeout.compareTo(verifyInterval) > 0) {
        throw new IllegalArgumentException("probeTimeout " + probeTimeout + " is longer than verifyInterval " + verifyInterval
            + ": lower probeTimeout or raise verifyInterval");
      }
      effectiveSelector = selector == null ? null : new LinkedHashMap<>(selector);
      releaseSelector = Map.copyOf(extraSelector);
      if (selector != null) {
        for (Map.Entry<String, String> e : extraSelector.entrySet()) {
          String had = effectiveSelector.putIfAbsent(e.getKey(), e.getValue());
          if (had != null && !had.equals(e.getValue())) {
            throw new IllegalArgumentException("kubernetesSelector " + e.getKey() + "=" + e.getValue() + " contradicts kubernetesLabels "
                + e.getKey() + "=" + had);
          }
        }
      }
      return new MasterDiscovery(this);
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
