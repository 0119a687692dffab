package io.github.redismasterdiscovery.bench;

/**
 * What the fleet harness sees of one simulated application pod ({@link FleetPod}). Only JDK types
 * cross it, because a pod's own classes (the library's included) may come from a class loader of
 * its own ({@link PodLoader}).
 */
public interface PodApi extends AutoCloseable {

  /** Waits until the pod's discovery knows a master; returns it as {@code host:port}. */
  String awaitMaster(long timeoutMillis);

  /** One {@code SET} through the pod's pool; throws what the pool throws. */
  void set(String key, String value);

  /** The master the pod's discovery holds now ({@code host:port}), or null. */
  String master();

  @Override
  void close();
}
