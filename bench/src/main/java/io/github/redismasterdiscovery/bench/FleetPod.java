package io.github.redismasterdiscovery.bench;

import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.github.redismasterdiscovery.FailoverJedisPool;
import io.github.redismasterdiscovery.LabelPreset;
import io.github.redismasterdiscovery.MasterDiscovery;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.RedisProtocol;

/**
 * One simulated application pod, configured the way a Bitnami user would: the {@code isMaster=true}
 * label source on its own Kubernetes client, the three Sentinels ({@code mymaster}), all other
 * settings default, and a {@link FailoverJedisPool} with default pool settings.
 *
 * <p>Settings (strings only, as this class may be loaded by a {@link PodLoader} of its own):
 * {@code sentinels} (comma-separated {@code host:port}), {@code masterName}, {@code kubernetesUrl},
 * {@code namespace}, and optionally {@code clientName}, set on its Redis and Sentinel client
 * configurations (the library keys its per-JVM Sentinel links by it).
 */
public final class FleetPod implements PodApi {

  private final KubernetesClient kubernetes;
  private final MasterDiscovery discovery;
  private final FailoverJedisPool pool;

  public FleetPod(Map<String, String> settings) {
    kubernetes = new KubernetesClientBuilder().withConfig(new ConfigBuilder(io.fabric8.kubernetes.client.Config.empty())
        .withMasterUrl(settings.get("kubernetesUrl"))
        .withNamespace(settings.get("namespace"))
        .withTrustCerts(true)
        .withConnectionTimeout(2_000)
        .withRequestTimeout(5_000)
        .withRequestRetryBackoffLimit(0)
        .build()).build();
    String clientName = settings.get("clientName");
    JedisClientConfig redis = config(clientName);
    try {
      discovery = MasterDiscovery.builder()
          .kubernetesLabels(LabelPreset.BITNAMI)
          .namespace(settings.get("namespace"))
          .kubernetesClient(kubernetes)
          .sentinels(Arrays.stream(settings.get("sentinels").split(",")).map(HostAndPort::from).toList())
          .masterName(settings.get("masterName"))
          .clientConfig(redis)
          .sentinelClientConfig(config(clientName))
          .build();
      pool = new FailoverJedisPool(discovery);
    } catch (RuntimeException e) {
      kubernetes.close();
      throw e;
    }
  }

  /** As the testkit's client configurations: RESP2, 1 s connect and 2 s read timeouts; no password. */
  private static JedisClientConfig config(String clientName) {
    return DefaultJedisClientConfig.builder().connectionTimeoutMillis(1_000).socketTimeoutMillis(2_000).protocol(RedisProtocol.RESP2)
        .clientName(clientName).build();
  }

  @Override
  public String awaitMaster(long timeoutMillis) {
    return discovery.awaitMaster(Duration.ofMillis(timeoutMillis)).toString();
  }

  @Override
  public void set(String key, String value) {
    try (Jedis jedis = pool.getResource()) {
      jedis.set(key, value);
    }
  }

  @Override
  public String master() {
    return discovery.snapshot().master().map(HostAndPort::toString).orElse(null);
  }

  @Override
  public void close() {
    try {
      pool.close();
    } finally {
      try {
        discovery.close();
      } finally {
        kubernetes.close();
      }
    }
  }
}
