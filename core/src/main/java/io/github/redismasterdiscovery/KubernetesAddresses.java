package io.github.redismasterdiscovery;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LoadBalancerIngress;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Consumer;
import redis.clients.jedis.HostAndPort;

/**
 * External addresses of the Redis pods, from Kubernetes ({@link ExternalAccess#loadBalancers()},
 * {@link ExternalAccess#nodePorts}, or a fixed pod-to-address map): the pods of the release (one
 * informer, shared with the label source, which filters the master label itself) and, for the
 * Service modes, their per-pod Services (one more informer). Also a {@link Source} of its own, the
 * {@link SourceKind#SERVICES} state, which says which pod has no external address and why.
 *
 * <p>An announced address is a pod's when its host is the pod's IP, or a host name whose first label
 * is the pod's name (headless-Service names); an address that already is an external one passes
 * through. Everything else is untranslatable, and never contacted.
 */
final class KubernetesAddresses implements AddressTranslator, Source {

  /** Labels that tie a per-pod Service to its pod through {@code spec.selector}. */
  private static final List<String> POD_NAME_LABELS = List.of("statefulset.kubernetes.io/pod-name", "apps.kubeblocks.io/pod-name");

  private final KubernetesClient client;
  private final String namespace;
  private final Map<String, String> podSelector;
  private final ExternalAccess access;
  private final Map<String, HostAndPort> staticMap;
  private final List<String> portNames;
  private final int defaultPort;
  private final Events events;
  private final Runnable onChange = this::changed;
  private final Consumer<Throwable> podErrors = t -> podError = KubernetesLabelSource.describe(t, "pods", namespace());
  private final Consumer<Throwable> serviceErrors = t -> serviceError = KubernetesLabelSource.describe(t, "services", namespace());
  private volatile SharedPodInformers.Shared<Pod> pods;
  private volatile SharedPodInformers.Shared<Service> services;
  private volatile String podError;
  private volatile String serviceError;

  KubernetesAddresses(KubernetesClient client, String namespace, Map<String, String> podSelector, ExternalAccess access,
      Map<String, HostAndPort> staticMap, List<String> portNames, int defaultPort, Events events) {
    this.client = client;
    this.namespace = namespace;
    this.podSelector = podSelector;
    this.access = access;
    this.staticMap = staticMap;
    this.portNames = portNames;
    this.defaultPort = defaultPort;
    this.events = events;
  }

  private String namespace() {
    return namespace;
  }

  @Override
  public SourceKind kind() {
    return SourceKind.SERVICES;
  }

  @Override
  public void start() {
    pods = SharedPodInformers.acquire(client, namespace, podSelector, onChange, podErrors);
    if (access.watchesServices()) {
      Map<String, String> selector = access.serviceSelector.isEmpty() ? podSelector : access.serviceSelector;
      services = SharedPodInformers.acquireServices(client, namespace, selector, onChange, serviceErrors);
    }
  }

  private void changed() {
    events.changed(); // a Service moved, got its address, or went: the next round sees it
  }

  @Override
  public List<HostAndPort> candidates() {
    return List.of(); // proposes nothing: it only tells where the others' candidates are
  }

  @Override
  public boolean addressesPods() {
    return true;
  }

  @Override
  public HostAndPort translate(HostAndPort announced) {
    if (isExternal(announced)) {
      return announced;
    }
    Pod pod = podAt(announced.getHost());
    return pod == null ? null : forPod(pod, announced.getPort());
  }

  @Override
  public String whyNot(HostAndPort announced) {
    if (isExternal(announced)) {
      return null;
    }
    Pod pod = podAt(announced.getHost());
    if (pod == null) {
      return announced + " is neither a pod matching " + podSelector + " in namespace " + namespace + " nor a known external address";
    }
    return reason(pod, announced.getPort());
  }

  @Override
  public boolean stillValid(HostAndPort external) {
    return isExternal(external);
  }

  @Override
  public HostAndPort forPod(Pod pod, int port) {
    String name = pod.getMetadata().getName();
    if (access.mode == ExternalAccess.Mode.STATIC) {
      return staticMap.get(name);
    }
    Service svc = serviceOf(name);
    if (svc == null) {
      return null;
    }
    ServicePort sp = portFor(svc, pod, port);
    if (sp == null) {
      return null;
    }
    if (access.mode == ExternalAccess.Mode.NODE_PORT) {
      return sp.getNodePort() == null ? null : new HostAndPort(access.nodeAddresses.get(0), sp.getNodePort());
    }
    String host = hostOf(svc);
    return host == null ? null : new HostAndPort(host, sp.getPort());
  }

  /** Why {@code pod} has no external address for {@code port}, or null when it has one. */
  private String reason(Pod pod, int port) {
    String name = pod.getMetadata().getName();
    if (access.mode == ExternalAccess.Mode.STATIC) {
      return staticMap.containsKey(name) ? null : "pod " + name + " has no externalAddress(\"" + name + "\", \"<host>:<port>\") configured";
    }
    Service svc = serviceOf(name);
    if (svc == null) {
      return "no Service selects pod " + name + " (spec.selector " + POD_NAME_LABELS.get(0) + "=" + name + ") among Services matching "
          + (access.serviceSelector.isEmpty() ? podSelector : access.serviceSelector) + " in namespace " + namespace;
    }
    String svcName = svc.getMetadata().getName();
    ServicePort sp = portFor(svc, pod, port);
    if (sp == null) {
      return "Service " + svcName + " has no port whose targetPort is pod " + name + "'s Redis port " + port;
    }
    if (access.mode == ExternalAccess.Mode.NODE_PORT) {
      return sp.getNodePort() == null ? "Service " + svcName + " has no nodePort for port " + sp.getPort() : null;
    }
    return hostOf(svc) == null ? "Service " + svcName + " has no load balancer address yet (pending)" : null;
  }

  /** Whether {@code address} is one this translator hands out now: a Service's external address and port, or a fixed one. */
  private boolean isExternal(HostAndPort address) {
    if (access.mode == ExternalAccess.Mode.STATIC) {
      return staticMap.containsValue(address);
    }
    SharedPodInformers.Shared<Service> s = services;
    if (s == null) {
      return false;
    }
    for (Service svc : s.informer.getStore().list()) {
      if (svc.getSpec() == null || svc.getSpec().getPorts() == null) {
        continue;
      }
      String host = access.mode == ExternalAccess.Mode.NODE_PORT ? null : hostOf(svc);
      for (ServicePort sp : svc.getSpec().getPorts()) {
        if (access.mode == ExternalAccess.Mode.NODE_PORT) {
          if (sp.getNodePort() != null && sp.getNodePort() == address.getPort() && access.nodeAddresses.contains(address.getHost())) {
            return true;
          }
        } else if (host != null && host.equals(address.getHost()) && Objects.equals(sp.getPort(), address.getPort())) {
          return true;
        }
      }
    }
    return false;
  }

  /** The pod behind a host: its IP, or a DNS name whose first label is its name. */
  private Pod podAt(String host) {
    SharedPodInformers.Shared<Pod> p = pods;
    if (p == null) {
      return null;
    }
    String firstLabel = host.contains(".") && !KubernetesLabelSource.isIpLiteral(host) ? host.substring(0, host.indexOf('.')) : host;
    for (Pod pod : p.informer.getStore().list()) {
      if (pod.getStatus() != null && host.equals(pod.getStatus().getPodIP())) {
        return pod;
      }
      if (pod.getMetadata().getName().equals(firstLabel)) {
        return pod;
      }
    }
    return null;
  }

  private Service serviceOf(String podName) {
    SharedPodInformers.Shared<Service> s = services;
    if (s == null) {
      return null;
    }
    for (Service svc : s.informer.getStore().list()) {
      Map<String, String> selector = svc.getSpec() == null ? null : svc.getSpec().getSelector();
      if (selector != null && POD_NAME_LABELS.stream().anyMatch(l -> podName.equals(selector.get(l)))) {
        return svc;
      }
    }
    return null;
  }

  /** The Service port whose targetPort is {@code port}, by number or by the name of the pod's container port with that number. */
  private static ServicePort portFor(Service svc, Pod pod, int port) {
    String portName = containerPortName(pod, port);
    for (ServicePort sp : svc.getSpec().getPorts() == null ? List.<ServicePort>of() : svc.getSpec().getPorts()) {
      IntOrString target = sp.getTargetPort();
      if (target == null) {
        if (Objects.equals(sp.getPort(), port)) { // targetPort defaults to port
          return sp;
        }
      } else if (Objects.equals(target.getIntVal(), port) || (portName != null && portName.equals(target.getStrVal()))) {
        return sp;
      }
    }
    return null;
  }

  private static String containerPortName(Pod pod, int port) {
    if (pod.getSpec() == null || pod.getSpec().getContainers() == null) {
      return null;
    }
    for (Container c : pod.getSpec().getContainers()) {
      for (ContainerPort p : c.getPorts() == null ? List.<ContainerPort>of() : c.getPorts()) {
        if (p.getContainerPort() != null && p.getContainerPort() == port) {
          return p.getName();
        }
      }
    }
    return null;
  }

  private String hostOf(Service svc) {
    if (access.hostAnnotation != null && svc.getMetadata().getAnnotations() != null) {
      String fromAnnotation = svc.getMetadata().getAnnotations().get(access.hostAnnotation);
      if (fromAnnotation != null && !fromAnnotation.isBlank()) {
        return fromAnnotation.split(",")[0].trim();
      }
    }
    if (svc.getStatus() == null || svc.getStatus().getLoadBalancer() == null || svc.getStatus().getLoadBalancer().getIngress() == null
        || svc.getStatus().getLoadBalancer().getIngress().isEmpty()) {
      return null;
    }
    LoadBalancerIngress ingress = svc.getStatus().getLoadBalancer().getIngress().get(0);
    return ingress.getIp() != null && !ingress.getIp().isBlank() ? ingress.getIp() : ingress.getHostname();
  }

  @Override
  public Health health() {
    String error = serviceError != null ? serviceError : podError;
    SharedPodInformers.Shared<Pod> p = pods;
    SharedPodInformers.Shared<Service> s = services;
    boolean watching = p != null && p.informer.isWatching() && (s == null || s.informer.isWatching());
    if (error != null && !watching) {
      return new Health(SourceState.Status.DOWN, error);
    }
    if (p == null || !p.informer.hasSynced() || (s != null && !s.informer.hasSynced())) {
      return new Health(SourceState.Status.STARTING, "listing pods" + (s == null ? "" : " and Services") + " in namespace " + namespace);
    }
    Map<String, String> unmapped = new TreeMap<>();
    List<String> mapped = new ArrayList<>();
    for (Pod pod : p.informer.getStore().list()) {
      int port = KubernetesLabelSource.portOf(pod, portNames, defaultPort, (name, p2) -> { });
      String why = reason(pod, port);
      if (why == null) {
        mapped.add(pod.getMetadata().getName() + " " + forPod(pod, port));
      } else {
        unmapped.put(pod.getMetadata().getName(), why);
      }
    }
    mapped.sort(null);
    String detail = access + ": " + (mapped.isEmpty() ? "no pod reachable" : String.join(", ", mapped))
        + (unmapped.isEmpty() ? "" : "; not reachable from here: " + String.join("; ", unmapped.values()));
    return new Health(unmapped.isEmpty() ? SourceState.Status.UP : SourceState.Status.DEGRADED, detail);
  }

  @Override
  public void close() {
    SharedPodInformers.Shared<Pod> p = pods;
    if (p != null) {
      pods = null;
      SharedPodInformers.release(p, onChange, podErrors);
    }
    SharedPodInformers.Shared<Service> s = services;
    if (s != null) {
      services = null;
      SharedPodInformers.release(s, onChange, serviceErrors);
    }
  }
}
