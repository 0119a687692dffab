package io.github.redismasterdiscovery.spring;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.github.redismasterdiscovery.ExternalAccess;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.MasterDiscoveryBuilder;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;

/**
 * Turns {@code redis-master-discovery.*} (and {@code spring.data.redis.sentinel.*}) into builder
 * calls, so that the builder's own error (which names the value and the fix) is reported against
 * the property that carried it.
 */
final class DiscoveryProperties {

  private DiscoveryProperties() {}

  private static final String P = "redis-master-discovery.";

  static MasterDiscoveryBuilder builder(RedisMasterDiscoveryProperties p, DataRedisConnectionDetails details, JedisClientConfig nodes,
      KubernetesClient kubernetesClient) {
    MasterDiscoveryBuilder b = MasterDiscovery.builder();
    b.clientConfig(nodes);
    RedisMasterDiscoveryProperties.Kubernetes k = p.getKubernetes();
    if (k.getPreset() != null) {
      set(P + "kubernetes.preset", () -> b.kubernetesLabels(k.getPreset()));
    }
    if (k.getLabelSelector() != null) {
      set(P + "kubernetes.label-selector", () -> b.kubernetesLabels(k.getLabelSelector()));
    }
    if (k.getSelector() != null) {
      set(P + "kubernetes.selector", () -> b.kubernetesSelector(k.getSelector()));
    }
    if (k.getNamespace() != null) {
      set(P + "kubernetes.namespace", () -> b.namespace(k.getNamespace()));
    }
    if (!k.getPortNames().isEmpty()) {
      set(P + "kubernetes.port-names", () -> b.podPortNames(k.getPortNames().toArray(new String[0])));
    }
    set(P + "kubernetes.default-port", () -> b.defaultPort(k.getDefaultPort()));
    if (k.getHeadlessService() != null) {
      set(P + "kubernetes.headless-service", () -> b.podHostsFromHeadlessService(k.getHeadlessService()));
    }
    set(P + "kubernetes.cluster-domain", () -> b.clusterDomain(k.getClusterDomain()));
    for (Map.Entry<String, String> e : k.getExternalAddresses().entrySet()) {
      set(P + "kubernetes.external-addresses." + e.getKey(), () -> b.externalAddress(e.getKey(), e.getValue()));
    }
    externalAccess(b, k.getExternalAccess());
    if (kubernetesClient != null && (k.getPreset() != null || k.getLabelSelector() != null)) {
      b.kubernetesClient(kubernetesClient);
    }

    RedisMasterDiscoveryProperties.Sentinel s = p.getSentinel();
    DataRedisConnectionDetails.Sentinel boot = details.getSentinel();
    if (!s.getNodes().isEmpty()) {
      set(P + "sentinel.nodes", () -> b.sentinels(s.getNodes().toArray(new String[0])));
      if (s.getMasterName() != null) {
        set(P + "sentinel.master-name", () -> b.masterName(s.getMasterName()));
      }
      b.sentinelClientConfig(sentinelConfig(s.getUsername(), s.getPassword(), nodes));
    } else if (boot != null) {
      List<HostAndPort> sentinels = boot.getNodes().stream().map(n -> new HostAndPort(n.host(), n.port())).toList();
      set("spring.data.redis.sentinel.nodes", () -> b.sentinels(sentinels));
      set("spring.data.redis.sentinel.master", () -> b.masterName(boot.getMaster()));
      b.sentinelClientConfig(sentinelConfig(boot.getUsername(), boot.getPassword(), nodes));
    } else if (s.getMasterName() != null) {
      set(P + "sentinel.master-name", () -> b.masterName(s.getMasterName()));
    }
    set(P + "sentinel.heartbeat", () -> b.sentinelHeartbeat(s.getHeartbeat()));
    set(P + "sentinel.refresh-interval", () -> b.sentinelRefreshInterval(s.getRefreshInterval()));
    if (s.getSubscriptions() != null) {
      set(P + "sentinel.subscriptions", () -> b.sentinelSubscriptions(s.getSubscriptions()));
    }

    RedisMasterDiscoveryProperties.Dns d = p.getDns();
    if (d.getHost() != null) {
      set(P + "dns.host", () -> b.dnsName(d.getHost(), d.getPort()));
      set(P + "dns.ttl", () -> b.dnsTtl(d.getTtl()));
    }
    if (!p.getNodes().isEmpty()) {
      set(P + "nodes", () -> b.nodes(p.getNodes().toArray(new String[0])));
    }
    set(P + "verify-interval", () -> b.verifyInterval(p.getVerifyInterval()));
    set(P + "probe-interval", () -> b.probeInterval(p.getProbeInterval()));
    set(P + "probe-timeout", () -> b.probeTimeout(p.getProbeTimeout()));
    set(P + "suspect-timeout", () -> b.suspectTimeout(p.getSuspectTimeout()));
    b.writeFence(p.isWriteFence());
    set(P + "write-fence-timeout", () -> b.writeFenceTimeout(p.getWriteFenceTimeout()));
    return b;
  }

  private static void externalAccess(MasterDiscoveryBuilder b, RedisMasterDiscoveryProperties.ExternalAccess e) {
    String prefix = P + "kubernetes.external-access.";
    ExternalAccess access;
    switch (e.getMode()) {
      case NONE -> {
        return;
      }
      case LOAD_BALANCERS -> access = ExternalAccess.loadBalancers();
      case NODE_PORTS -> access = value(prefix + "node-address", () -> ExternalAccess.nodePorts(e.getNodeAddress()));
      default -> throw new IllegalStateException(e.getMode().name());
    }
    if (e.getServiceSelector() != null) {
      ExternalAccess base = access;
      access = value(prefix + "service-selector", () -> base.serviceSelector(e.getServiceSelector()));
    }
    if (e.getHostAnnotation() != null) {
      ExternalAccess base = access;
      access = value(prefix + "host-annotation", () -> base.hostAnnotation(e.getHostAnnotation()));
    }
    ExternalAccess chosen = access;
    set(prefix + "mode", () -> b.externalAccess(chosen));
  }

  /** Builds, reporting a combination the builder refuses against the properties that form it. */
  static MasterDiscovery build(MasterDiscoveryBuilder b) {
    try {
      return b.build();
    } catch (IllegalArgumentException e) {
      String reason = String.valueOf(e.getMessage());
      if (reason.startsWith("no Kubernetes namespace")) { // outside a pod: the builder's advice, in property terms
        throw new RedisMasterDiscoveryConfigurationException(P + "kubernetes.namespace",
            reason.replace("set namespace(\"<ns>\")", "set " + P + "kubernetes.namespace"),
            "Set " + P + "kubernetes.namespace to the namespace of the Redis pods");
      }
      throw new RedisMasterDiscoveryConfigurationException("redis-master-discovery", reason, reason.startsWith("no source configured")
          ? "Set at least one source: redis-master-discovery.kubernetes.preset (with .selector), redis-master-discovery.sentinel.nodes "
              + "with .master-name (or spring.data.redis.sentinel.*), redis-master-discovery.dns.host, or redis-master-discovery.nodes"
          : "Change the settings the reason above names: a builder method there is the property of the same name under "
              + "redis-master-discovery. (probeTimeout is redis-master-discovery.probe-timeout, kubernetesSelector is "
              + "redis-master-discovery.kubernetes.selector; docs/configuration.md lists them all)");
    }
  }

  private static JedisClientConfig sentinelConfig(String user, String password, JedisClientConfig nodes) {
    DefaultJedisClientConfig.Builder b = DefaultJedisClientConfig.builder();
    if (isSet(user)) {
      b.user(user);
    }
    if (isSet(password)) {
      b.password(password);
    }
    if (nodes.isSsl()) { // Sentinels of a TLS deployment speak TLS too
      b.ssl(true).sslSocketFactory(nodes.getSslSocketFactory()).sslParameters(nodes.getSslParameters());
    }
    return b.build();
  }

  /**
   * Whether a username or password is given. Empty means none, as for Boot's own Redis factory: a
   * placeholder such as {@code ${REDIS_PASSWORD:}} resolves to "" where the variable is unset, and Jedis
   * would send {@code AUTH ""}, which a Redis without a password refuses.
   */
  static boolean isSet(String credential) {
    return credential != null && !credential.isEmpty();
  }

  private static <T> T value(String property, Supplier<T> call) {
    try {
      return call.get();
    } catch (IllegalArgumentException e) {
      throw new RedisMasterDiscoveryConfigurationException(property, e.getMessage(), "Fix " + property + " as the reason above says");
    }
  }

  private static void set(String property, Runnable call) {
    value(property, () -> {
      call.run();
      return null;
    });
  }
}
