package io.github.redismasterdiscovery;

/**
 * Master label conventions of common Redis deployments on Kubernetes.
 *
 * <p>Each preset selects pods whose label equals a value (for Bitnami, {@code isMaster=true}); a pod
 * with any other value, or without the label, is not a master candidate. Narrow to one release with
 * {@link MasterDiscoveryBuilder#kubernetesSelector(String)}, for example
 * {@code app.kubernetes.io/instance=my-redis}.
 */
public enum LabelPreset {
  /** Bitnami redis chart with {@code sentinel.masterService.enabled}: {@code isMaster=true}. */
  BITNAMI("isMaster", "true"),
  /** Bitnami valkey chart: {@code isPrimary=true}. */
  BITNAMI_VALKEY("isPrimary", "true"),
  /** OT-CONTAINER-KIT redis-operator: {@code redis-role=master}. */
  OT_CONTAINER_KIT("redis-role", "master"),
  /** spotahome redis-operator: {@code redisfailovers-role=master}. */
  SPOTAHOME("redisfailovers-role", "master"),
  /** KubeBlocks: {@code kubeblocks.io/role=primary}. */
  KUBEBLOCKS("kubeblocks.io/role", "primary");

  private final String key;
  private final String value;

  LabelPreset(String key, String value) {
    this.key = key;
    this.value = value;
  }

  /** The label key, such as {@code isMaster}. */
  public String key() {
    return key;
  }

  /** The value that marks the master, such as {@code true}. */
  public String value() {
    return value;
  }

  /** The selector in {@code key=value} form. */
  public String selector() {
    return key + "=" + value;
  }
}
