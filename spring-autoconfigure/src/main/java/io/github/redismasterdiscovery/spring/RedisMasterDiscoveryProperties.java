package io.github.redismasterdiscovery.spring;

import io.github.redismasterdiscovery.LabelPreset;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Where the Redis master is found. Credentials, TLS (SSL bundles), database, timeouts, client name
 * and pool settings come from {@code spring.data.redis.*}, as for Boot's own Redis support; so do
 * the Sentinels ({@code spring.data.redis.sentinel.*}) when {@code redis-master-discovery.sentinel.*}
 * is not set.
 */
@ConfigurationProperties("redis-master-discovery")
public class RedisMasterDiscoveryProperties {

  /** Whether to auto-configure master discovery and the connection factory that follows it. */
  private boolean enabled = true;

  /**
   * How long application start-up waits for a verified master; 0 never waits: the application starts,
   * its health says DOWN until a master is found, and Redis calls wait for one (up to the pool's max-wait).
   */
  private Duration startupTimeout = Duration.ZERO;

  /**
   * The longest a borrow waits (for a master, an idle connection or a retry), used when
   * spring.data.redis.jedis.pool.max-wait is not set: Boot's default there is to wait forever.
   */
  private Duration maxWait = Duration.ofSeconds(2);

  /** How often a healthy master is asked ROLE when nothing happens. */
  private Duration verifyInterval = Duration.ofSeconds(5);

  /** How often nodes are probed while there is no master. */
  private Duration probeInterval = Duration.ofMillis(100);

  /** Connect and read timeout of every probe and Sentinel query. */
  private Duration probeTimeout = Duration.ofMillis(500);

  /** How long a master that stopped answering (a stall) stays the master, marked suspect. */
  private Duration suspectTimeout = Duration.ofSeconds(5);

  /** Whether commands stop going to the master once Sentinel announces it is promoting a replica, until the new master is proven. */
  private boolean writeFence = true;

  /** The longest a write fence holds when no promotion is proven. */
  private Duration writeFenceTimeout = Duration.ofSeconds(5);

  /** Redis nodes (host:port) to probe with ROLE when no source names a master. */
  private List<String> nodes = new ArrayList<>();

  private final Kubernetes kubernetes = new Kubernetes();

  private final Sentinel sentinel = new Sentinel();

  private final Dns dns = new Dns();

  public boolean isEnabled() {
    return enabled;
  }

  public void setEnabled(boolean enabled) {
    this.enabled = enabled;
  }

  public Duration getStartupTimeout() {
    return startupTimeout;
  }

  public void setStartupTimeout(Duration startupTimeout) {
    this.startupTimeout = startupTimeout;
  }

  public Duration getMaxWait() {
    return maxWait;
  }

  public void setMaxWait(Duration maxWait) {
    this.maxWait = maxWait;
  }

  public Duration getVerifyInterval() {
    return verifyInterval;
  }

  public void setVerifyInterval(Duration verifyInterval) {
    this.verifyInterval = verifyInterval;
  }

  public Duration getProbeInterval() {
    return probeInterval;
  }

  public void setProbeInterval(Duration probeInterval) {
    this.probeInterval = probeInterval;
  }

  public Duration getProbeTimeout() {
    return probeTimeout;
  }

  public void setProbeTimeout(Duration probeTimeout) {
    this.probeTimeout = probeTimeout;
  }

  public Duration getSuspectTimeout() {
    return suspectTimeout;
  }

  public void setSuspectTimeout(Duration suspectTimeout) {
    this.suspectTimeout = suspectTimeout;
  }

  public boolean isWriteFence() {
    return writeFence;
  }

  public void setWriteFence(boolean writeFence) {
    this.writeFence = writeFence;
  }

  public Duration getWriteFenceTimeout() {
    return writeFenceTimeout;
  }

  public void setWriteFenceTimeout(Duration writeFenceTimeout) {
    this.writeFenceTimeout = writeFenceTimeout;
  }

  public List<String> getNodes() {
    return nodes;
  }

  public void setNodes(List<String> nodes) {
    this.nodes = nodes;
  }

  public Kubernetes getKubernetes() {
    return kubernetes;
  }

  public Sentinel getSentinel() {
    return sentinel;
  }

  public Dns getDns() {
    return dns;
  }

  /** The pod label source: pods carrying the master label, watched through the Kubernetes API. */
  public static class Kubernetes {

    /** A chart's or operator's master label: bitnami (isMaster=true), bitnami-valkey, ot-container-kit, spotahome, kubeblocks. */
    private LabelPreset preset;

    /** The master label as key=value[,key=value], instead of a preset. */
    private String labelSelector;

    /** Narrows the pods further, for example to one release: app.kubernetes.io/instance=my-redis. */
    private String selector;

    /** The pods' namespace. Default: the pod's own service-account namespace, else the kubeconfig's. */
    private String namespace;

    /** Container port names tried in order for a pod's Redis port. Default: redis, then tcp-redis. */
    private List<String> portNames = new ArrayList<>();

    /** The Redis port when a pod names none of the port names. */
    private int defaultPort = 6379;

    /** Addresses pods by DNS through this headless Service (pod.service.namespace.svc.cluster-domain) instead of pod IPs. */
    private String headlessService;

    /** The cluster DNS domain, for headless-service. */
    private String clusterDomain = "cluster.local";

    /** For clients outside the cluster: each pod's dedicated load balancer, pod name to host:port (a fixed map). */
    private Map<String, String> externalAddresses = new LinkedHashMap<>();

    /** For clients outside the cluster: per-pod Services followed through the Kubernetes API. */
    private final ExternalAccess externalAccess = new ExternalAccess();

    public LabelPreset getPreset() {
      return preset;
    }

    public void setPreset(LabelPreset preset) {
      this.preset = preset;
    }

    public String getLabelSelector() {
      return labelSelector;
    }

    public void setLabelSelector(String labelSelector) {
      this.labelSelector = labelSelector;
    }

    public String getSelector() {
      return selector;
    }

    public void setSelector(String selector) {
      this.selector = selector;
    }

    public String getNamespace() {
      return namespace;
    }

    public void setNamespace(String namespace) {
      this.namespace = namespace;
    }

    public List<String> getPortNames() {
      return portNames;
    }

    public void setPortNames(List<String> portNames) {
      this.portNames = portNames;
    }

    public int getDefaultPort() {
      return defaultPort;
    }

    public void setDefaultPort(int defaultPort) {
      this.defaultPort = defaultPort;
    }

    public String getHeadlessService() {
      return headlessService;
    }

    public void setHeadlessService(String headlessService) {
      this.headlessService = headlessService;
    }

    public String getClusterDomain() {
      return clusterDomain;
    }

    public void setClusterDomain(String clusterDomain) {
      this.clusterDomain = clusterDomain;
    }

    public Map<String, String> getExternalAddresses() {
      return externalAddresses;
    }

    public void setExternalAddresses(Map<String, String> externalAddresses) {
      this.externalAddresses = externalAddresses;
    }

    public ExternalAccess getExternalAccess() {
      return externalAccess;
    }
  }

  /**
   * How a client outside the cluster reaches the pods, through one Service per pod (needs get, list,
   * watch on services, and kubernetes.selector).
   */
  public static class ExternalAccess {

    /** none (in the cluster), load-balancers (one LoadBalancer Service per pod), or node-ports (one NodePort Service per pod). Needs kubernetes.preset (or label-selector) and kubernetes.selector. */
    private ExternalAccessMode mode = ExternalAccessMode.NONE;

    /** For node-ports: the address clients reach the NodePorts at (any node, or a name resolving to the nodes). */
    private String nodeAddress;

    /** Selects the per-pod Services by these labels (key=value[,key=value]) instead of kubernetes.selector. */
    private String serviceSelector;

    /** For load-balancers: the Service annotation holding the host name (for example external-dns's), before status.loadBalancer. */
    private String hostAnnotation;

    public ExternalAccessMode getMode() {
      return mode;
    }

    public void setMode(ExternalAccessMode mode) {
      this.mode = mode;
    }

    public String getNodeAddress() {
      return nodeAddress;
    }

    public void setNodeAddress(String nodeAddress) {
      this.nodeAddress = nodeAddress;
    }

    public String getServiceSelector() {
      return serviceSelector;
    }

    public void setServiceSelector(String serviceSelector) {
      this.serviceSelector = serviceSelector;
    }

    public String getHostAnnotation() {
      return hostAnnotation;
    }

    public void setHostAnnotation(String hostAnnotation) {
      this.hostAnnotation = hostAnnotation;
    }
  }

  /** The kinds of {@link ExternalAccess}. */
  public enum ExternalAccessMode {
    /** The application runs in the cluster and reaches pod addresses directly. */
    NONE,
    /** One LoadBalancer Service per pod. */
    LOAD_BALANCERS,
    /** One NodePort Service per pod, through kubernetes.external-access.node-address. */
    NODE_PORTS
  }

  /** The Sentinel source. Unset: spring.data.redis.sentinel.* is used. */
  public static class Sentinel {

    /** Sentinels as host:port. */
    private List<String> nodes = new ArrayList<>();

    /** The master-set name, as in 'sentinel monitor <name> ...' (Bitnami: mymaster). */
    private String masterName;

    /** Login username for the Sentinels, when they require one. */
    private String username;

    /** Password for the Sentinels, when they require one. */
    private String password;

    /** How often each Sentinel subscription is pinged; a link silent for three heartbeats reconnects. */
    private Duration heartbeat = Duration.ofSeconds(5);

    /** At most how often the Sentinels are asked for the master again while one names another master than the proven one. */
    private Duration refreshInterval = Duration.ofSeconds(30);

    /**
     * Subscribe to only this many of the Sentinels (drawn at random per application instance).
     * Unset: every Sentinel. Fewer connections per Sentinel, at a cost: an instance not watching a
     * failover's leader raises no write fence and loses writes on a planned failover.
     */
    private Integer subscriptions;

    public List<String> getNodes() {
      return nodes;
    }

    public void setNodes(List<String> nodes) {
      this.nodes = nodes;
    }

    public String getMasterName() {
      return masterName;
    }

    public void setMasterName(String masterName) {
      this.masterName = masterName;
    }

    public String getUsername() {
      return username;
    }

    public void setUsername(String username) {
      this.username = username;
    }

    public String getPassword() {
      return password;
    }

    public void setPassword(String password) {
      this.password = password;
    }

    public Duration getHeartbeat() {
      return heartbeat;
    }

    public void setHeartbeat(Duration heartbeat) {
      this.heartbeat = heartbeat;
    }

    public Duration getRefreshInterval() {
      return refreshInterval;
    }

    public void setRefreshInterval(Duration refreshInterval) {
      this.refreshInterval = refreshInterval;
    }

    public Integer getSubscriptions() {
      return subscriptions;
    }

    public void setSubscriptions(Integer subscriptions) {
      this.subscriptions = subscriptions;
    }
  }

  /** The DNS source: a name that resolves to the master, such as my-redis-master. */
  public static class Dns {

    /** The host name. */
    private String host;

    /** The Redis port behind it. */
    private int port = 6379;

    /** How long an answer is reused before resolving again. */
    private Duration ttl = Duration.ofSeconds(5);

    public String getHost() {
      return host;
    }

    public void setHost(String host) {
      this.host = host;
    }

    public int getPort() {
      return port;
    }

    public void setPort(int port) {
      this.port = port;
    }

    public Duration getTtl() {
      return ttl;
    }

    public void setTtl(Duration ttl) {
      this.ttl = ttl;
    }
  }
}
