package io.github.redismasterdiscovery.bench;

import io.github.redismasterdiscovery.FailoverJedisPool;
import io.github.redismasterdiscovery.LabelPreset;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import java.time.Duration;
import java.util.Collections;
import java.util.HashSet;
import java.util.Map;
import java.util.WeakHashMap;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPool;
import redis.clients.jedis.JedisSentinelPool;
import redis.clients.jedis.util.Pool;

/** The clients compared, built the same way: same pool settings, same client configuration. */
final class Clients {

  enum Kind {
    FAILOVER_JEDIS_POOL("FailoverJedisPool"),
    FAILOVER_JEDIS_POOL_EXECUTE("FailoverJedisPool.execute (retrying)"),
    JEDIS_POOL("JedisPool (fixed master)"),
    JEDIS_SENTINEL_POOL("JedisSentinelPool");

    final String label;

    Kind(String label) {
      this.label = label;
    }
  }

  /** A client under test: writes one key, returning the server that acknowledged it. */
  static final class Client implements AutoCloseable {
    final Kind kind;
    final Pool<Jedis> pool;
    private final MasterDiscovery discovery;
    private final Map<Jedis, HostAndPort> nodes = Collections.synchronizedMap(new WeakHashMap<>());

    Client(Kind kind, Pool<Jedis> pool, MasterDiscovery discovery) {
      this.kind = kind;
      this.pool = pool;
      this.discovery = discovery;
    }

    HostAndPort set(String key, String value) {
      if (kind == Kind.FAILOVER_JEDIS_POOL_EXECUTE) {
        return ((FailoverJedisPool) pool).execute(j -> {
          HostAndPort node = nodeOf(j);
          j.set(key, value);
          return node;
        });
      }
      try (Jedis j = pool.getResource()) {
        HostAndPort node = nodeOf(j);
        j.set(key, value);
        return node;
      }
    }

    /** The server behind a pooled connection, from CLIENT INFO's laddr, asked once per connection. */
    private HostAndPort nodeOf(Jedis j) {
      return nodes.computeIfAbsent(j, c -> {
        for (String field : c.clientInfo().trim().split(" ")) {
          if (field.startsWith("laddr=")) {
            return HostAndPort.from(field.substring("laddr=".length()));
          }
        }
        throw new IllegalStateException("no laddr in CLIENT INFO");
      });
    }

    @Override
    public void close() {
      pool.close();
      if (discovery != null) {
        discovery.close();
      }
    }
  }

  private Clients() {}

  static GenericObjectPoolConfig<Jedis> poolConfig() {
    GenericObjectPoolConfig<Jedis> c = new GenericObjectPoolConfig<>();
    c.setMaxTotal(32);
    c.setMaxIdle(32);
    c.setMaxWait(Duration.ofSeconds(5));
    return c;
  }

  static Client create(Kind kind, RedisHaTopology t) {
    switch (kind) {
      case JEDIS_POOL:
        return new Client(kind, new JedisPool(poolConfig(), t.master().address(), t.clientConfig()), null);
      case JEDIS_SENTINEL_POOL:
        return new Client(kind, new JedisSentinelPool(t.masterName(), new HashSet<>(t.sentinelAddresses()), poolConfig(),
            t.clientConfig(), t.sentinelClientConfig()), null);
      default:
        MasterDiscovery d = MasterDiscovery.builder()
            .kubernetesLabels(LabelPreset.BITNAMI)
            .namespace(t.kubernetes().namespace())
            .kubernetesClient(t.kubernetes().newClient())
            .sentinels(t.sentinelAddresses())
            .masterName(t.masterName())
            .clientConfig(t.clientConfig())
            .build();
        d.awaitMaster(Duration.ofSeconds(10));
        return new Client(kind, new FailoverJedisPool(d, poolConfig(), t.clientConfig()), d);
    }
  }
}
