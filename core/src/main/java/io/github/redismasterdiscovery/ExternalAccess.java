package io.github.redismasterdiscovery;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import redis.clients.jedis.HostAndPort;

/**
 * How a client outside the Kubernetes cluster reaches the Redis pods: Sentinel's answers and
 * {@code ROLE} replies name pod IPs or headless-Service host names, which only the cluster can
 * reach; every such address is translated before any connection is opened. Strict: an address that
 * cannot be translated is never contacted, nor replaced by the pod address, and the snapshot says why
 * (the {@link SourceKind#SERVICES} state).
 *
 * <ul>
 *   <li>{@link #loadBalancers()}: one LoadBalancer Service per pod (Bitnami's
 *       {@code sentinel.externalAccess}, KubeBlocks' {@code redis-lb-advertised}), found and followed
 *       through the Kubernetes API: a Service belongs to the pod its {@code spec.selector} names
 *       ({@code statefulset.kubernetes.io/pod-name} or {@code apps.kubeblocks.io/pod-name}); its port
 *       is the one whose {@code targetPort} (number or name) is the pod's Redis port; its host is
 *       {@code status.loadBalancer.ingress[0]} (IP, else host name), or an annotation such as
 *       external-dns's. A Service with no ingress yet leaves its pod untranslated (pending).
 *   <li>{@link #nodePorts(String)}: per-pod NodePort Services, reached through a node address.
 *   <li>{@link #mapper(Function)}: a function of the application's own (null: not reachable).
 * </ul>
 * A fixed map from pod names to addresses is {@link MasterDiscoveryBuilder#externalAddress}.
 * Addresses that already are external (a Sentinel announcing the load balancer's IP) pass through.
 * The Kubernetes modes need {@code get, list, watch} on {@code services} besides pods, and a
 * {@link MasterDiscoveryBuilder#kubernetesSelector release selector}.
 */
public final class ExternalAccess {

  /** How external addresses are found. */
  enum Mode { LOAD_BALANCER, NODE_PORT, MAPPER, STATIC }

  final Mode mode;
  final Map<String, String> serviceSelector;
  final String hostAnnotation;
  final List<String> nodeAddresses;
  final Function<HostAndPort, HostAndPort> mapper;

  private ExternalAccess(Mode mode, Map<String, String> serviceSelector, String hostAnnotation, List<String> nodeAddresses,
      Function<HostAndPort, HostAndPort> mapper) {
    this.mode = mode;
    this.serviceSelector = serviceSelector;
    this.hostAnnotation = hostAnnotation;
    this.nodeAddresses = nodeAddresses;
    this.mapper = mapper;
  }

  /** One LoadBalancer Service per pod, watched in the pods' namespace; Services selected like the pods (release selector). */
  public static ExternalAccess loadBalancers() {
    return new ExternalAccess(Mode.LOAD_BALANCER, Map.of(), null, List.of(), null);
  }

  /**
   * One NodePort Service per pod, reached through {@code nodeAddress}: any node's address, or a name
   * that resolves to the nodes (a NodePort is open on every node, so one address serves every pod).
   */
  public static ExternalAccess nodePorts(String nodeAddress) {
    if (nodeAddress == null || nodeAddress.isBlank()) {
      throw new IllegalArgumentException("nodePorts needs a node address, e.g. nodePorts(\"203.0.113.10\")");
    }
    return new ExternalAccess(Mode.NODE_PORT, Map.of(), null, List.of(nodeAddress), null);
  }

  /**
   * The application's own translation: given the address a Sentinel or a node announced, the
   * address to connect to, or null when it cannot be reached. Called often: fast, no I/O.
   */
  public static ExternalAccess mapper(Function<HostAndPort, HostAndPort> mapper) {
    return new ExternalAccess(Mode.MAPPER, Map.of(), null, List.of(), Objects.requireNonNull(mapper, "mapper"));
  }

  static ExternalAccess staticMap() {
    return new ExternalAccess(Mode.STATIC, Map.of(), null, List.of(), null);
  }

  /** Selects the per-pod Services by these labels ({@code key=value[,key=value]}) instead of the pods' release selector. */
  public ExternalAccess serviceSelector(String selector) {
    requireKubernetesMode("serviceSelector");
    return new ExternalAccess(mode, Selectors.parse(selector, "serviceSelector"), hostAnnotation, nodeAddresses, mapper);
  }

  /**
   * Takes the host from this Service annotation (such as {@code external-dns.alpha.kubernetes.io/hostname})
   * instead of the load balancer's ingress, where it is set.
   */
  public ExternalAccess hostAnnotation(String annotation) {
    if (mode != Mode.LOAD_BALANCER) {
      throw new IllegalArgumentException("hostAnnotation applies to loadBalancers() only, not to " + mode.name().toLowerCase().replace('_', '-'));
    }
    if (annotation == null || annotation.isBlank()) {
      throw new IllegalArgumentException("hostAnnotation must name an annotation, e.g. \"external-dns.alpha.kubernetes.io/hostname\"");
    }
    return new ExternalAccess(mode, serviceSelector, annotation, nodeAddresses, mapper);
  }

  boolean watchesServices() {
    return mode == Mode.LOAD_BALANCER || mode == Mode.NODE_PORT;
  }

  private void requireKubernetesMode(String setting) {
    if (!watchesServices()) {
      throw new IllegalArgumentException(setting + " applies to loadBalancers() and nodePorts(), not to " + mode.name().toLowerCase());
    }
  }

  @Override
  public String toString() {
    List<String> parts = new ArrayList<>();
    parts.add(mode.name().toLowerCase().replace('_', '-'));
    if (!serviceSelector.isEmpty()) {
      parts.add("services " + serviceSelector);
    }
    if (hostAnnotation != null) {
      parts.add("host from " + hostAnnotation);
    }
    if (!nodeAddresses.isEmpty()) {
      parts.add("nodes " + nodeAddresses);
    }
    return "ExternalAccess" + parts;
  }
}
