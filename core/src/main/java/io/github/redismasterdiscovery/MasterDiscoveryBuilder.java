package io.github.redismasterdiscovery;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;

/**
 * Settings for a {@link MasterDiscovery}. Every setter checks its value at once and throws an
 * {@link IllegalArgumentException} that names the setting and the fix; {@link #build()} checks
 * the combination. Not thread-safe.
 */
public final class MasterDiscoveryBuilder {
  private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

  Map<String, String> selector;
  final Map<String, String> extraSelector = new LinkedHashMap<>();
  String namespace;
  KubernetesClient kubernetesClient;
  List<String> portNames = List.of("redis", "tcp-redis");
  int defaultPort = 6379;
  String headlessService;
  String clusterDomain = "cluster.local";
  final Map<String, HostAndPort> externalAddresses = new LinkedHashMap<>();
  ExternalAccess externalAccess;
  Map<String, String> effectiveSelector; // the master label and the release's, set by build()
  Map<String, String> releaseSelector;   // kubernetesSelector alone, set by build()
  Path serviceAccountNamespaceFile = Path.of("/var/run/secrets/kubernetes.io/serviceaccount/namespace");

  final List<HostAndPort> sentinels = new ArrayList<>();
  String masterName;
  JedisClientConfig sentinelConfig;
  Duration sentinelHeartbeat = Duration.ofSeconds(5);
  Duration sentinelRefresh = Duration.ofSeconds(30);
  Integer sentinelSubscriptions;

  String dnsName;
  int dnsPort;
  Duration dnsTtl = Duration.ofSeconds(5);

  final Set<HostAndPort> staticNodes = new LinkedHashSet<>();
  JedisClientConfig redisConfig = DefaultJedisClientConfig.builder().build();
  Duration verifyInterval = Duration.ofSeconds(5);
  Duration probeInterval = Duration.ofMillis(100);
  Duration probeTimeout = Duration.ofMillis(500);
  Duration suspectTimeout = Duration.ofSeconds(5);
  Duration chaseTimeout = Duration.ofSeconds(10);
  boolean writeFence = true;
  Duration writeFenceTimeout = Duration.ofSeconds(5);
  final List<MasterListener> listeners = new ArrayList<>();
  DiscoveryLoop.Env env;
  RoleProbe probe;

  MasterDiscoveryBuilder() {}

  /** Watches pods with a preset's master label (for example {@link LabelPreset#BITNAMI}: {@code isMaster=true}). */
  public MasterDiscoveryBuilder kubernetesLabels(LabelPreset preset) {
    Objects.requireNonNull(preset, "kubernetesLabels preset");
    return kubernetesLabels(preset.selector());
  }

  /**
   * Watches pods matching an equality selector, {@code key=value[,key=value...]}, such as
   * {@code isMaster=true}. Only pods whose labels have exactly these values are candidates.
   */
  public MasterDiscoveryBuilder kubernetesLabels(String selector) {
    this.selector = Selectors.parse(selector, "kubernetesLabels");
    return this;
  }

  /** Narrows the pods further, for example to one release: {@code app.kubernetes.io/instance=my-redis}. */
  public MasterDiscoveryBuilder kubernetesSelector(String selector) {
    extraSelector.putAll(Selectors.parse(selector, "kubernetesSelector"));
    return this;
  }

  /**
   * The pods' namespace. Default: the pod's own service-account namespace, else the kubeconfig
   * context's namespace.
   */
  public MasterDiscoveryBuilder namespace(String namespace) {
    if (namespace == null || !NAMESPACE.matcher(namespace).matches()) {
      throw new IllegalArgumentException("namespace '" + namespace + "' is not a valid Kubernetes namespace "
          + "(lower-case letters, digits and '-', at most 63 characters, e.g. \"redis\")");
    }
    this.namespace = namespace;
    return this;
  }

  /** The fabric8 client to use (not closed by the discovery). Default: one auto-configured from the pod or kubeconfig. */
  public MasterDiscoveryBuilder kubernetesClient(KubernetesClient client) {
    this.kubernetesClient = Objects.requireNonNull(client, "kubernetesClient");
    return this;
  }

  /** Container port names tried in order for a pod's Redis port (default {@code redis}, then {@code tcp-redis}). */
  public MasterDiscoveryBuilder podPortNames(String... names) {
    if (names == null || names.length == 0 || List.of(names).stream().anyMatch(n -> n == null || n.isBlank())) {
      throw new IllegalArgumentException("podPortNames needs at least one non-blank name, e.g. podPortNames(\"redis\")");
    }
    this.portNames = List.of(names);
    return this;
  }

  /** The Redis port when a pod names none of {@link #podPortNames} (default 6379). */
  public MasterDiscoveryBuilder defaultPort(int port) {
    this.defaultPort = requirePort(port, "defaultPort");
    return this;
  }

  /**
   * Addresses pods by DNS through a headless Service, {@code <pod>.<service>.<ns>.svc.<clusterDomain>},
   * instead of {@code status.podIP}.
   */
  public MasterDiscoveryBuilder podHostsFromHeadlessService(String service) {
    if (service == null || !NAMESPACE.matcher(service).matches()) {
      throw new IllegalArgumentException("podHostsFromHeadlessService '" + service + "' is not a valid Service name");
    }
    this.headlessService = service;
    return this;
  }

  /** The cluster DNS domain for {@link #podHostsFromHeadlessService} (default {@code cluster.local}). */
  public MasterDiscoveryBuilder clusterDomain(String domain) {
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
  public MasterDiscoveryBuilder externalAddress(String podName, String hostAndPort) {
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
  public MasterDiscoveryBuilder externalAccess(ExternalAccess access) {
    this.externalAccess = Objects.requireNonNull(access, "externalAccess");
    return this;
  }

  /** Sentinels as {@code host:port} strings, such as {@code my-redis:26379}. */
  public MasterDiscoveryBuilder sentinels(String... hostAndPorts) {
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
  public MasterDiscoveryBuilder sentinels(Collection<HostAndPort> addresses) {
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
  public MasterDiscoveryBuilder sentinelSubscriptions(int count) {
    if (count < 1) {
      throw new IllegalArgumentException("sentinelSubscriptions must be at least 1, was " + count);
    }
    this.sentinelSubscriptions = count;
    return this;
  }

  /** The Sentinel master-set name, as in {@code sentinel monitor <name> ...} (Bitnami: {@code mymaster}). */
  public MasterDiscoveryBuilder masterName(String name) {
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
  public MasterDiscoveryBuilder sentinelClientConfig(JedisClientConfig config) {
    this.sentinelConfig = Objects.requireNonNull(config, "sentinelClientConfig");
    return this;
  }

  /**
   * How often each Sentinel subscription is pinged; a link silent for three heartbeats reconnects
   * (default 5 s: 0.2 commands/s per pod per Sentinel, a half-open link noticed within 15 s).
   * Discoveries in one JVM share a subscription per Sentinel when they use the same credentials and
   * heartbeat.
   */
  public MasterDiscoveryBuilder sentinelHeartbeat(Duration heartbeat) {
    this.sentinelHeartbeat = requirePositive(heartbeat, "sentinelHeartbeat");
    return this;
  }

  /**
   * At most how often the Sentinels are asked for the master again on a short-lived connection
   * while one of them names another master than the proven one (a missed announcement), besides
   * their announcements and the query on every (re)subscribe (default 30 s). While they all agree
   * with the proven master, none is asked: an idle fleet opens no connection to the Sentinels.
   */
  public MasterDiscoveryBuilder sentinelRefreshInterval(Duration interval) {
    this.sentinelRefresh = requirePositive(interval, "sentinelRefreshInterval");
    return this;
  }

  /** A DNS name that resolves to the master, such as {@code redis-master.<ns>.svc.cluster.local}, and its port. */
  public MasterDiscoveryBuilder dnsName(String host, int port) {
    if (host == null || host.isBlank() || host.contains(" ") || host.contains(":") && !host.startsWith("[")) {
      throw new IllegalArgumentException("dnsName host '" + host + "' is not a host name, e.g. \"redis-master\"");
    }
    this.dnsName = host;
    this.dnsPort = requirePort(port, "dnsName port");
    return this;
  }

  /** How long a DNS answer is reused before resolving again (default 5 s). */
  public MasterDiscoveryBuilder dnsTtl(Duration ttl) {
    this.dnsTtl = requirePositive(ttl, "dnsTtl");
    return this;
  }

  /** Redis nodes to probe with {@code ROLE} when no source names a master (default: only nodes seen at run time). */
  public MasterDiscoveryBuilder nodes(String... hostAndPorts) {
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
  public MasterDiscoveryBuilder clientConfig(JedisClientConfig config) {
    this.redisConfig = Objects.requireNonNull(config, "clientConfig");
    return this;
  }

  /**
   * How often a healthy master is asked {@code ROLE} when nothing happens (default 5 s): the safety
   * net under the event paths (Sentinel's announcements, label changes, pools' errors), which carry
   * every failover. An idle discovery costs each master one {@code ROLE} per interval. It may not be
   * shorter than {@link #probeTimeout} (500 ms by default; {@link #build()} says so): lower both together.
   */
  public MasterDiscoveryBuilder verifyInterval(Duration interval) {
    this.verifyInterval = requirePositive(interval, "verifyInterval");
    return this;
  }

  /** How often nodes are probed while there is no master (default 100 ms). */
  public MasterDiscoveryBuilder probeInterval(Duration interval) {
    this.probeInterval = requirePositive(interval, "probeInterval");
    return this;
  }

  /** Connect and read timeout of every probe and Sentinel query (default 500 ms; at most {@link #verifyInterval}). */
  public MasterDiscoveryBuilder probeTimeout(Duration timeout) {
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
  public MasterDiscoveryBuilder suspectTimeout(Duration timeout) {
    this.suspectTimeout = MasterDiscovery.requireNonNegative(timeout, "suspectTimeout");
    return this;
  }

  /**
   * Whether pools stop starting commands on the master once Sentinel's leader announces the
   * replica it is promoting, until the new master is proven (default true). Sentinel does not
   * pause the old master, so without the fence every write it accepts after the promotion is lost.
   */
  public MasterDiscoveryBuilder writeFence(boolean enabled) {
    this.writeFence = enabled;
    return this;
  }

  /** The longest a write fence holds when no promotion is proven (default 5 s); then writes go to the old master again. */
  public MasterDiscoveryBuilder writeFenceTimeout(Duration timeout) {
    this.writeFenceTimeout = requirePositive(timeout, "writeFenceTimeout");
    return this;
  }

  /** How long a newly named candidate is asked again and again until it answers master (default 10 s). */
  MasterDiscoveryBuilder chaseTimeout(Duration timeout) {
    this.chaseTimeout = requirePositive(timeout, "chaseTimeout");
    return this;
  }

  /** Time and timers (tests drive them by hand). */
  MasterDiscoveryBuilder env(DiscoveryLoop.Env env) {
    this.env = Objects.requireNonNull(env, "env");
    return this;
  }

  /** The ROLE probe (tests answer from a table). */
  MasterDiscoveryBuilder probe(RoleProbe probe) {
    this.probe = Objects.requireNonNull(probe, "probe");
    return this;
  }

  /** Adds a listener for master changes (see {@link MasterListener}). */
  public MasterDiscoveryBuilder listener(MasterListener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
    return this;
  }

  MasterDiscoveryBuilder serviceAccountNamespaceFile(Path file) {
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
      throw new IllegalArgumentException(field + " '" + value + "' is not host:port, e.g. \"" + (field.startsWith("sentinel") ? "my-redis:26379" : "redis-node-0.redis-headless:6379") + "\"");
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

  private static Duration requirePositive(Duration d, String field) {
    if (d == null || d.isZero() || d.isNegative()) {
      throw new IllegalArgumentException(field + " must be positive, was " + d);
    }
    return d;
  }
}
