package io.github.redismasterdiscovery;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
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
 * so writes it accepted after the promotion would be lost. On by default ({@link MasterDiscoveryBuilder#writeFence}).
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

  MasterDiscovery(MasterDiscoveryBuilder b) {
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

  /** A builder; {@link MasterDiscoveryBuilder#build()} validates every setting and starts watching. */
  public static MasterDiscoveryBuilder builder() {
    return new MasterDiscoveryBuilder();
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


  static Duration requireNonNegative(Duration d, String field) {
    if (d == null || d.isNegative()) {
      throw new IllegalArgumentException(field + " must be zero or positive, was " + d);
    }
    return d;
  }

}
