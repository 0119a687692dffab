package io.github.redismasterdiscovery;

/** Where a master candidate came from. Listed in the order candidates are preferred. */
public enum SourceKind {
  /** Redis Sentinel: {@code SENTINEL GET-MASTER-ADDR-BY-NAME} and {@code +switch-master}. */
  SENTINEL,
  /** Kubernetes pods carrying the master label, watched with a fabric8 informer. */
  KUBERNETES,
  /** A DNS name such as {@code redis-master.<ns>.svc.cluster.local}. */
  DNS,
  /** The Redis nodes themselves: {@code ROLE} replies naming a master or replicas, and nodes seen before. */
  NODE_PROBE,
  /**
   * Not a source of candidates: the external addresses of the pods for clients outside the cluster
   * ({@link ExternalAccess}); its state says which pod cannot be reached from here, and why.
   */
  SERVICES
}
