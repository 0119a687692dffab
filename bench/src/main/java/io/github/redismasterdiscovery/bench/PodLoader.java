package io.github.redismasterdiscovery.bench;

import java.net.URL;
import java.net.URLClassLoader;
import java.util.Map;

/**
 * How the fleet harness keeps simulated pods in one JVM from sharing anything a server sees.
 *
 * <p>The library shares three things per JVM (per class loader, as they are static): Sentinel
 * subscriptions ({@code SentinelLinks}, keyed by address, credentials, TLS and <em>client name</em>),
 * pod informers ({@code SharedPodInformers}, keyed by the {@code KubernetesClient} instance, namespace
 * and selector) and its threads ({@code SharedRuntime}: one timer, at most 16 I/O threads for every
 * probe and query, one heartbeat thread). {@link Isolation#CLASS_LOADER} loads the library (the
 * {@code io.github.redismasterdiscovery} package) and {@link FleetPod} once per pod, so each pod has
 * all three of its own, as a pod in its own JVM would; Jedis, fabric8 and the JDK stay shared (they
 * hold no per-server state of their own). {@link Isolation#CLIENT_NAME} keeps one copy of the library
 * and gives each pod its own client name and {@code KubernetesClient}: its own links and informer, but
 * the fleet's probes share one runtime of 16 I/O threads.
 */
final class PodLoader {

  enum Isolation {
    /** A class loader per pod: nothing shared, threads included. */
    CLASS_LOADER,
    /** One library; a client name and a KubernetesClient per pod: links and informers apart, threads shared. */
    CLIENT_NAME
  }

  private static final String CORE_PACKAGE = "io.github.redismasterdiscovery";
  private static final String POD_CLASS = FleetPod.class.getName();

  private PodLoader() {}

  /** A new pod: pod {@code index} of the fleet, isolated as {@code isolation} says. */
  static PodApi newPod(Isolation isolation, int index, Map<String, String> settings) {
    if (isolation == Isolation.CLIENT_NAME) {
      Map<String, String> named = new java.util.HashMap<>(settings);
      named.put("clientName", "fleet-pod-" + index);
      return new FleetPod(named);
    }
    ClassLoader loader = new PodClassLoader(PodLoader.class.getClassLoader());
    try {
      return (PodApi) loader.loadClass(POD_CLASS).getConstructor(Map.class).newInstance(settings);
    } catch (java.lang.reflect.InvocationTargetException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot load a pod in a class loader of its own", e);
    }
  }

  /** Child-first for the library's package and {@link FleetPod}; parent-first for everything else. */
  private static final class PodClassLoader extends URLClassLoader {
    static {
      registerAsParallelCapable();
    }

    PodClassLoader(ClassLoader parent) {
      super("fleet-pod", new URL[] {location(io.github.redismasterdiscovery.MasterDiscovery.class), location(FleetPod.class)}, parent);
    }

    private static URL location(Class<?> c) {
      return c.getProtectionDomain().getCodeSource().getLocation();
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
      if (!ownCopy(name)) {
        return super.loadClass(name, resolve);
      }
      synchronized (getClassLoadingLock(name)) {
        Class<?> c = findLoadedClass(name);
        if (c == null) {
          c = findClass(name);
        }
        if (resolve) {
          resolveClass(c);
        }
        return c;
      }
    }

    private static boolean ownCopy(String name) {
      return (name.startsWith(CORE_PACKAGE + ".") && name.lastIndexOf('.') == CORE_PACKAGE.length())
          || name.equals(POD_CLASS) || name.startsWith(POD_CLASS + "$");
    }
  }
}
