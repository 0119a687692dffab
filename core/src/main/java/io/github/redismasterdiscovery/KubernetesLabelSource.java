package io.github.redismasterdiscovery;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.HostAndPort;

/**
 * Pods carrying the master label, from a fabric8 informer restricted by label selector to one
 * namespace (shared with every other discovery watching the same pods). It asks the API for
 * nothing but list and watch on pods.
 *
 * <p>fabric8 fires no callback when the informer stops watching (API down, 403, repeated 410), so
 * {@link #health()} reads {@code isWatching()} on every evaluation round instead.
 */
final class KubernetesLabelSource implements Source {

  private static final Logger log = LoggerFactory.getLogger(KubernetesLabelSource.class);
  private static final Pattern IPV4 = Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");
  private static final Pattern IPV6 = Pattern.compile("[0-9a-fA-F:.]+(%[\\w.-]+)?");

  /** How pods are found and addressed; validated by {@link MasterDiscovery.Builder}. */
  record Settings(String namespace, Map<String, String> selector, List<String> portNames, int defaultPort,
      String headlessService, String clusterDomain, Map<String, HostAndPort> externalAddresses) {}

  private final KubernetesClient client;
  private final Settings settings;
  private final Events events;
  private final Runnable onChange = this::informerChanged;
  private final Warnings warnings;
  private final Object seenLock = new Object();
  private List<HostAndPort> seen = List.of(); // guarded by seenLock
  /** A watch that is re-established within this time (normal expiry, a blip) is not reported as down. */
  private static final long RECONNECT_GRACE_NANOS = 1_000_000_000L;

  private volatile SharedPodInformers.Shared informer;
  private volatile String lastError;
  private final java.util.function.Consumer<Throwable> errorListener = t -> lastError = describe(t);
  private volatile long notWatchingSince;

  KubernetesLabelSource(KubernetesClient client, Settings settings, Events events, Warnings warnings) {
    this.client = client;
    this.settings = settings;
    this.events = events;
    this.warnings = warnings;
  }

  /** An informer event or a (re)list: a newly labeled pod is proposed at once, so it is chased before any round. */
  private void informerChanged() {
    List<HostAndPort> now = candidates();
    List<HostAndPort> added = new ArrayList<>(now);
    synchronized (seenLock) {
      added.removeAll(seen);
      seen = now;
    }
    for (HostAndPort a : added) {
      events.proposed(a, SourceKind.KUBERNETES, "pod labeled " + selectorText());
    }
    events.changed();
  }

  private String selectorText() {
    StringBuilder b = new StringBuilder();
    settings.selector().forEach((k, v) -> b.append(b.length() == 0 ? "" : ",").append(k).append('=').append(v));
    return b.toString();
  }

  @Override
  public SourceKind kind() {
    return SourceKind.KUBERNETES;
  }

  @Override
  public void start() {
    informer = SharedPodInformers.acquire(client, settings.namespace(), settings.selector(), onChange, errorListener);
  }

  @Override
  public List<HostAndPort> candidates() {
    SharedPodInformers.Shared shared = informer;
    if (shared == null) {
      return List.of();
    }
    List<Pod> pods = new ArrayList<>(shared.informer.getStore().list());
    pods.sort(Comparator.comparing(p -> p.getMetadata().getName()));
    List<HostAndPort> out = new ArrayList<>();
    for (Pod pod : pods) {
      HostAndPort address = candidate(pod);
      if (address != null) {
        out.add(address);
      }
    }
    return out;
  }

  @Override
  public Health health() {
    SharedPodInformers.Shared shared = informer;
    SharedIndexInformer<Pod> inf = shared == null ? null : shared.informer;
    long now = System.nanoTime();
    if (inf != null && inf.isWatching()) {
      notWatchingSince = 0;
      lastError = null;
      return Health.up(seenText(inf));
    }
    if (notWatchingSince == 0) {
      notWatchingSince = now;
    }
    String error = lastError;
    if (inf == null || (!inf.hasSynced() && error == null)) {
      return new Health(SourceState.Status.STARTING, "listing pods in namespace " + settings.namespace());
    }
    // Listed, not watching: normal between the list and the first watch, and while a watch is renewed.
    // fabric8 reports a failed re-watch through no callback, so only the duration tells an outage.
    if (error == null && now - notWatchingSince < RECONNECT_GRACE_NANOS) {
      return new Health(SourceState.Status.UP, "(re-)establishing the pod watch");
    }
    return new Health(SourceState.Status.DOWN, error != null ? error
        : "not watching pods in namespace " + settings.namespace() + " (Kubernetes API unreachable?); reconnecting");
  }

  /** What the watch sees, for error messages: "0 pods match isMaster=true in namespace redis", or which ones. */
  private String seenText(SharedIndexInformer<Pod> inf) {
    List<Pod> pods = inf.getStore().list();
    String where = " match " + selectorText() + " in namespace " + settings.namespace();
    if (pods.isEmpty()) {
      return "0 pods" + where;
    }
    List<String> names = new ArrayList<>();
    for (Pod p : pods) {
      HostAndPort a = candidate(p);
      names.add(p.getMetadata().getName() + (a == null ? " (not a candidate: not Ready, terminating or no address)" : " " + a));
    }
    names.sort(null);
    return pods.size() + (pods.size() == 1 ? " pod" : " pods") + where + ": " + String.join(", ", names);
  }

  /** The pod's Redis address, or null when it is not a candidate (not labeled, not ready, terminating, no usable IP). */
  HostAndPort candidate(Pod pod) {
    String name = pod.getMetadata().getName();
    Map<String, String> labels = pod.getMetadata().getLabels();
    for (Map.Entry<String, String> wanted : settings.selector().entrySet()) {
      // Compare values: a merge patch to null can leave the key with a null value.
      if (labels == null || !Objects.equals(wanted.getValue(), labels.get(wanted.getKey()))) {
        return null;
      }
    }
    if (pod.getMetadata().getDeletionTimestamp() != null || pod.getStatus() == null || !isReady(pod)) {
      return null;
    }
    int port = port(pod);
    if (!settings.externalAddresses().isEmpty()) {
      HostAndPort external = settings.externalAddresses().get(name);
      if (external == null) {
        warnings.warn(log, "external:" + name, "pod {} carries the master label but has no external address configured; "
            + "add externalAddress(\"{}\", \"<lb-host>:<port>\")", name, name);
      }
      return external;
    }
    if (settings.headlessService() != null) {
      return new HostAndPort(name + "." + settings.headlessService() + "." + settings.namespace() + ".svc." + settings.clusterDomain(), port);
    }
    String ip = pod.getStatus().getPodIP();
    if (ip == null || ip.isEmpty()) {
      return null;
    }
    if (!isIpLiteral(ip)) {
      warnings.warn(log, "ip:" + name + ":" + ip, "pod {} has a malformed status.podIP '{}'; skipping it", name, ip);
      return null;
    }
    return new HostAndPort(ip, port);
  }

  private int port(Pod pod) {
    if (pod.getSpec() != null && pod.getSpec().getContainers() != null) {
      for (String wanted : settings.portNames()) {
        for (Container c : pod.getSpec().getContainers()) {
          for (ContainerPort p : c.getPorts() == null ? List.<ContainerPort>of() : c.getPorts()) {
            if (wanted.equals(p.getName()) && p.getContainerPort() != null) {
              int port = p.getContainerPort();
              if (port >= 1 && port <= 65535) {
                return port;
              }
              warnings.warn(log, "port:" + pod.getMetadata().getName(), "pod {} names port '{}' as {}, out of range; using {}",
                  pod.getMetadata().getName(), wanted, port, settings.defaultPort());
            }
          }
        }
      }
    }
    return settings.defaultPort();
  }

  private static boolean isReady(Pod pod) {
    List<PodCondition> conditions = pod.getStatus().getConditions();
    return conditions != null && conditions.stream().anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  static boolean isIpLiteral(String ip) {
    return IPV4.matcher(ip).matches() || (ip.contains(":") && IPV6.matcher(ip).matches());
  }

  private String describe(Throwable t) {
    Throwable e = t;
    while (e != null && !(e instanceof KubernetesClientException) && e.getCause() != null && e.getCause() != e) {
      e = e.getCause();
    }
    if (e instanceof KubernetesClientException) {
      int code = ((KubernetesClientException) e).getCode();
      if (code == 403 || code == 401) {
        return "HTTP " + code + " from the Kubernetes API on pods in namespace " + settings.namespace()
            + ": grant the service account a Role with get, list, watch on pods in that namespace (see examples/k8s/rbac.yaml)";
      }
      if (code == 404) {
        return "HTTP 404 listing pods in namespace " + settings.namespace() + ": does the namespace exist?";
      }
      if (code > 0) {
        return "HTTP " + code + " from the Kubernetes API on pods in namespace " + settings.namespace() + ": " + JedisRoleProbe.firstLine(e);
      }
    }
    return "Kubernetes API error on pods in namespace " + settings.namespace() + ": " + JedisRoleProbe.firstLine(t);
  }

  @Override
  public void close() {
    SharedPodInformers.Shared shared = informer;
    if (shared != null) {
      informer = null;
      SharedPodInformers.release(shared, onChange, errorListener);
    }
  }
}
