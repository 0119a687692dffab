package io.github.redismasterdiscovery;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

/**
 * One informer per (client, kind, namespace, selector) in the JVM, shared by every discovery that
 * asks for the same pods or Services, so 50 pools open one watch, not 50; and one auto-configured
 * client shared by every discovery that was not given one. Both are reference-counted and closed
 * with their last user.
 */
final class SharedPodInformers {

  private record Key(KubernetesClient client, Class<?> kind, String namespace, Map<String, String> selector) {}

  /** A started informer, its users' callbacks, and the last error it reported. */
  static final class Shared<T extends HasMetadata> {
    final SharedIndexInformer<T> informer;
    final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    final List<Consumer<Throwable>> errorListeners = new CopyOnWriteArrayList<>();
    int users;

    private Shared(SharedIndexInformer<T> informer) {
      this.informer = informer;
    }

    private void changed() {
      listeners.forEach(Runnable::run);
    }

    private void failed(Throwable t) {
      errorListeners.forEach(l -> l.accept(t));
    }
  }

  private static final Map<Key, Shared<?>> informers = new HashMap<>();
  private static KubernetesClient defaultClient;
  private static int defaultClientUsers;

  private SharedPodInformers() {}

  /**
   * The auto-configured client (in-cluster service account, else kubeconfig), shared; release with
   * {@link #releaseDefaultClient}. Its watch reconnect interval (fabric8's back-off base, 1 s unless
   * configured) is spread over one to two times itself, drawn once per JVM: when the API server
   * restarts, every pod of a fleet loses its watch at the same instant, and without this they would
   * all reconnect, and relist, at the same instants (1, 2, 4, ... s) after.
   */
  static synchronized KubernetesClient acquireDefaultClient() {
    if (defaultClient == null) {
      Config config = Config.autoConfigure(null);
      config.setWatchReconnectInterval(spread(config.getWatchReconnectInterval(), ThreadLocalRandom.current().nextDouble()));
      defaultClient = new KubernetesClientBuilder().withConfig(config).build();
    }
    defaultClientUsers++;
    return defaultClient;
  }

  /** {@code millis} (1,000 when unset) times one plus {@code random} (in [0, 1)). */
  static int spread(Integer millis, double random) {
    int base = millis == null || millis <= 0 ? 1_000 : millis;
    return (int) (base * (1 + random));
  }

  static synchronized void releaseDefaultClient() {
    if (--defaultClientUsers == 0 && defaultClient != null) {
      defaultClient.close();
      defaultClient = null;
    }
  }

  /**
   * Joins (or starts) the pod informer for these pods. {@code onChange} runs on every pod event and
   * after each list; {@code onError} on every failure the informer reports (it keeps retrying).
   */
  static Shared<Pod> acquire(KubernetesClient client, String namespace, Map<String, String> selector, Runnable onChange,
      Consumer<Throwable> onError) {
    return acquire(client, Pod.class, namespace, selector, onChange, onError);
  }

  /** Joins (or starts) the Service informer for these Services; as {@link #acquire} for pods. */
  static Shared<Service> acquireServices(KubernetesClient client, String namespace, Map<String, String> selector, Runnable onChange,
      Consumer<Throwable> onError) {
    return acquire(client, Service.class, namespace, selector, onChange, onError);
  }

  @SuppressWarnings("unchecked")
  private static <T extends HasMetadata> Shared<T> acquire(KubernetesClient client, Class<T> kind, String namespace, Map<String, String> selector,
      Runnable onChange, Consumer<Throwable> onError) {
    Shared<T> shared;
    boolean start = false;
    synchronized (SharedPodInformers.class) {
      Key key = new Key(client, kind, namespace, Map.copyOf(selector));
      shared = (Shared<T>) informers.get(key);
      if (shared == null) {
        SharedIndexInformer<T> informer = kind == Pod.class
            ? (SharedIndexInformer<T>) client.pods().inNamespace(namespace).withLabels(selector).runnableInformer(0)
            : (SharedIndexInformer<T>) client.services().inNamespace(namespace).withLabels(selector).runnableInformer(0);
        shared = new Shared<>(informer);
        informers.put(key, shared);
        start = true;
      }
      shared.users++;
      shared.listeners.add(onChange);
      shared.errorListeners.add(onError);
    }
    if (start) {
      Shared<T> s = shared;
      s.informer.addEventHandler(new ResourceEventHandler<T>() {
        @Override
        public void onAdd(T object) {
          s.changed();
        }

        @Override
        public void onUpdate(T oldObject, T newObject) {
          s.changed();
        }

        @Override
        public void onDelete(T object, boolean deletedFinalStateUnknown) {
          s.changed();
        }
      });
      // Keep retrying (with fabric8's back-off) whatever failed: RBAC can be fixed and API servers come back.
      s.informer.exceptionHandler((started, t) -> {
        s.failed(t);
        s.changed();
        return true;
      });
      s.informer.start().whenComplete((ok, t) -> {
        if (t != null) {
          s.failed(t);
        }
        s.changed();
      });
    } else {
      onChange.run(); // the informer may have listed long ago: look at its store now
    }
    return shared;
  }

  /** Leaves the informer; the last user stops it. */
  static void release(Shared<?> shared, Runnable onChange, Consumer<Throwable> onError) {
    boolean stop;
    synchronized (SharedPodInformers.class) {
      shared.listeners.remove(onChange);
      shared.errorListeners.remove(onError);
      stop = --shared.users == 0;
      if (stop) {
        informers.values().remove(shared);
      }
    }
    if (stop) {
      shared.informer.close();
    }
  }

  /** Informers currently running (for tests and benchmarks). */
  static synchronized int running() {
    return informers.size();
  }
}
