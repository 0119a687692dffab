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

  /** How pods are found and addressed; validated by {@link MasterDiscoveryBuilder}. */
  /**
   * @param selector the labels a master candidate carries (the master label and the release's)
   * @param informerSelector the labels the watch asks the API server for: the selector itself, or
   *     only the release's when external addresses need every pod of it (the master label is then
   *     filtered here)
   */
  record Settings(String namespace, Map<String, String> selector, Map<String, String> informerSelector, List<String> portNames,
      int defaultPort, String headlessService, String clusterDomain) {}

  private final KubernetesClient client;
  private final Settings settings;
  private final Events events;
  private final Runnable onChange = this::informerChanged;
  private final Warnings warnings;
  private final Object seenLock = new Object();
  private List<HostAndPort> seen = List.of(); // guarded by seenLock
  /** A watch that is re-established within this time (normal expiry, a blip) is not reported as down. */
  private static final long RECONNECT_GRACE_NANOS = 1_000_000_000L;

  private volatile SharedPodInformers.Shared<Pod> informer;
  private volatile String lastError;
  private volatile boolean forbidden; // lastError is a 401/403: no retry cures it
  private final java.util.function.Consumer<Throwable> errorListener = this::failed;
  private volatile long notWatchingSince;
  private volatile boolean everWatched;

  private final AddressTranslator translator;

  /** @param translator where candidates are reached: {@link AddressTranslator#IN_CLUSTER} (pod IP or headless name), or external addresses */
  KubernetesLabelSource(KubernetesClient client, Settings settings, AddressTranslator translator, Events events, Warnings warnings) {
    this.client = client;
    this.settings = settings;
    this.translator = translator;
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
    informer = SharedPodInformers.acquire(client, settings.namespace(), settings.informerSelector(), onChange, errorListener);
  }

  @Override
  public List<HostAndPort> candidates() {
    SharedPodInformers.Shared<Pod> shared = informer;
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
    SharedPodInformers.Shared<Pod> shared = informer;
    SharedIndexInformer<Pod> inf = shared == null ? null : shared.informer;
    long now = System.nanoTime();
    if (inf != null && inf.isWatching()) {
      notWatchingSince = 0;
      lastError = null;
      forbidden = false;
      everWatched = true;
      return Health.up(seenText(inf));
    }
    if (notWatchingSince == 0) {
      notWatchingSince = now;
    }
    String error = lastError;
    if (inf == null || (!inf.hasSynced() && error == null)) {
      return new Health(SourceState.Status.STARTING, "listing pods in namespace " + settings.namespace());
    }
    if (!everWatched && error == null) {
      // Listed, first watch on its way: a cold JVM can take over a second to open it. Not an outage (a
      // failed list or watch reports an error); calling it DOWN made every start-up log a false alarm.
      return new Health(SourceState.Status.STARTING, "listed pods in namespace " + settings.namespace() + "; opening the watch");
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
    int port = redisPort(pod);
    if (translator.addressesPods()) {
      // Outside the cluster: the pod's external address, or none (the SERVICES state says why); never the pod IP.
      return translator.forPod(pod, port);
    }
    if (settings.headlessService() != null) {
      return translator.translate(
          new HostAndPort(name + "." + settings.headlessService() + "." + settings.namespace() + ".svc." + settings.clusterDomain(), port));
    }
    String ip = pod.getStatus().getPodIP();
    if (ip == null || ip.isEmpty()) {
      return null;
    }
    if (!isIpLiteral(ip)) {
      warnings.warn(log, "ip:" + name + ":" + ip, "pod {} has a malformed status.podIP '{}'; skipping it", name, ip);
      return null;
    }
    return translator.translate(new HostAndPort(ip, port)); // as announced in the cluster; an application's mapper may change it
  }

  private int redisPort(Pod pod) {
    return portOf(pod, settings.portNames(), settings.defaultPort(), (name, port) -> warnings.warn(log, "port:" + pod.getMetadata().getName(),
        "pod {} names port '{}' as {}, out of range; using {}", pod.getMetadata().getName(), name, port, settings.defaultPort()));
  }

  /** A pod's Redis port: the first of {@code names} among its container ports, else {@code defaultPort}. */
  static int portOf(Pod pod, List<String> names, int defaultPort, java.util.function.BiConsumer<String, Integer> outOfRange) {
    if (pod.getSpec() != null && pod.getSpec().getContainers() != null) {
      for (String wanted : names) {
        for (Container c : pod.getSpec().getContainers()) {
          for (ContainerPort p : c.getPorts() == null ? List.<ContainerPort>of() : c.getPorts()) {
            if (wanted.equals(p.getName()) && p.getContainerPort() != null) {
              int port = p.getContainerPort();
              if (port >= 1 && port <= 65535) {
                return port;
              }
              outOfRange.accept(wanted, port);
            }
          }
        }
      }
    }
    return defaultPort;
  }

  private static boolean isReady(Pod pod) {
    List<PodCondition> conditions = pod.getStatus().getConditions();
    return conditions != null && conditions.stream().anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  static boolean isIpLiteral(String ip) {
    return IPV4.matcher(ip).matches() || (ip.contains(":") && IPV6.matcher(ip).matches());
  }

  private void failed(Throwable t) {
    int code = httpCode(t);
    forbidden = code == 401 || code == 403;
    lastError = describe(t, "pods", settings.namespace());
  }

  /** The API server refuses this account the pod watch (RBAC 403, 401): the error, while not watching; else null. */
  @Override
  public String misconfiguration() {
    SharedPodInformers.Shared<Pod> shared = informer;
    String error = lastError;
    if (shared == null || shared.informer.isWatching() || !forbidden || error == null) {
      return null;
    }
    return "Kubernetes: " + error;
  }

  /** The HTTP status of the first {@link KubernetesClientException} in {@code t}'s causes, or 0. */
  static int httpCode(Throwable t) {
    Throwable e = t;
    while (e != null && !(e instanceof KubernetesClientException) && e.getCause() != null && e.getCause() != e) {
      e = e.getCause();
    }
    return e instanceof KubernetesClientException ? ((KubernetesClientException) e).getCode() : 0;
  }

  /** An informer's failure as one line naming the resource, the namespace and, for RBAC, the fix. */
  static String describe(Throwable t, String resource, String namespace) {
    Throwable e = t;
    while (e != null && !(e instanceof KubernetesClientException) && e.getCause() != null && e.getCause() != e) {
      e = e.getCause();
    }
    if (e instanceof KubernetesClientException) {
      int code = ((KubernetesClientException) e).getCode();
      if (code == 403 || code == 401) {
        return "HTTP " + code + " from the Kubernetes API on " + resource + " in namespace " + namespace
            + ": grant the service account a Role with get, list, watch on " + resource + " in that namespace (see examples/k8s/rbac.yaml)";
      }
      if (code == 404) {
        return "HTTP 404 listing " + resource + " in namespace " + namespace + ": does the namespace exist?";
      }
      if (code > 0) {
        return "HTTP " + code + " from the Kubernetes API on " + resource + " in namespace " + namespace + ": " + JedisRoleProbe.firstLine(e);
      }
    }
    return "Kubernetes API error on " + resource + " in namespace " + namespace + ": " + JedisRoleProbe.firstLine(t);
  }

  @Override
  public void close() {
    SharedPodInformers.Shared<Pod> shared = informer;
    if (shared != null) {
      informer = null;
      SharedPodInformers.release(shared, onChange, errorListener);
    }
  }
}
