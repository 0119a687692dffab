package io.github.redismasterdiscovery.bench;

import io.github.redismasterdiscovery.FailoverJedisPool;
import io.github.redismasterdiscovery.LabelPreset;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.lettuce.core.ReadFrom;
import io.lettuce.core.RedisURI;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.masterreplica.MasterReplica;
import io.lettuce.core.masterreplica.StatefulRedisMasterReplicaConnection;
import java.time.Duration;
import java.util.HashSet;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;
import org.redisson.config.SentinelServersConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPool;
import redis.clients.jedis.JedisSentinelPool;
import redis.clients.jedis.util.Pool;

/**
 * The clients compared, built the same way where they can be: same pool settings, same client
 * configuration, a 2 s command timeout. The peers (Lettuce, Redisson) use their own Sentinel support.
 */
final class Clients {

  enum Kind {
    FAILOVER_JEDIS_POOL("FailoverJedisPool"),
    FAILOVER_JEDIS_POOL_EXECUTE("FailoverJedisPool.execute (retrying)"),
    JEDIS_POOL("JedisPool (fixed master)"),
    JEDIS_SENTINEL_POOL("JedisSentinelPool"),
    LETTUCE_MASTER_REPLICA("Lettuce MasterReplica (Sentinel)"),
    REDISSON_SENTINEL("Redisson (sentinel mode)");

    final String label;

    Kind(String label) {
      this.label = label;
    }
  }

  /** A client under test. */
  interface Client extends AutoCloseable {
    Kind kind();

    /** One SET; throws what the client throws. */
    void set(String key, String value);

    @Override
    void close();
  }

  /** A Jedis pool (ours or Jedis' own), also used directly by the steady-state section. */
  static final class JedisClient implements Client {
    final Kind kind;
    final Pool<Jedis> pool;
    private final MasterDiscovery discovery;

    JedisClient(Kind kind, Pool<Jedis> pool, MasterDiscovery discovery) {
      this.kind = kind;
      this.pool = pool;
      this.discovery = discovery;
    }

    @Override
    public Kind kind() {
      return kind;
    }

    @Override
    public void set(String key, String value) {
      if (kind == Kind.FAILOVER_JEDIS_POOL_EXECUTE) {
        ((FailoverJedisPool) pool).execute(j -> j.set(key, value));
        return;
      }
      try (Jedis j = pool.getResource()) {
        j.set(key, value);
      }
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

  /** Labels and Sentinels of the topology, as an application in the cluster would set it up; its master found. */
  static MasterDiscovery discovery(RedisHaTopology t) {
    MasterDiscovery d = MasterDiscovery.builder()
        .kubernetesLabels(LabelPreset.BITNAMI)
        .namespace(t.kubernetes().namespace())
        .kubernetesClient(t.kubernetes().newClient())
        .sentinels(t.sentinelAddresses())
        .masterName(t.masterName())
        .clientConfig(t.clientConfig())
        .build();
    try {
      d.awaitMaster(Duration.ofSeconds(10));
    } catch (RuntimeException e) {
      d.close();
      throw e;
    }
    return d;
  }

  static JedisClient jedis(Kind kind, RedisHaTopology t) {
    switch (kind) {
      case JEDIS_POOL:
        return new JedisClient(kind, new JedisPool(poolConfig(), t.master().address(), t.clientConfig()), null);
      case JEDIS_SENTINEL_POOL:
        return new JedisClient(kind, new JedisSentinelPool(t.masterName(), new HashSet<>(t.sentinelAddresses()), poolConfig(),
            t.clientConfig(), t.sentinelClientConfig()), null);
      case FAILOVER_JEDIS_POOL:
      case FAILOVER_JEDIS_POOL_EXECUTE:
        MasterDiscovery d = discovery(t);
        return new JedisClient(kind, new FailoverJedisPool(d, poolConfig(), t.clientConfig()), d);
      default:
        throw new IllegalArgumentException(kind + " is not a Jedis pool");
    }
  }

  static Client create(Kind kind, RedisHaTopology t) {
    switch (kind) {
      case LETTUCE_MASTER_REPLICA:
        return lettuce(t);
      case REDISSON_SENTINEL:
        return redisson(t);
      default:
        return jedis(kind, t);
    }
  }

  /** Lettuce's Sentinel-aware master/replica connection, writes to the master. */
  private static Client lettuce(RedisHaTopology t) {
    RedisURI.Builder uri = RedisURI.builder().withSentinelMasterId(t.masterName()).withTimeout(Duration.ofSeconds(2));
    for (HostAndPort s : t.sentinelAddresses()) {
      uri.withSentinel(s.getHost(), s.getPort());
    }
    io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create();
    StatefulRedisMasterReplicaConnection<String, String> connection = MasterReplica.connect(client, StringCodec.UTF8, uri.build());
    connection.setReadFrom(ReadFrom.UPSTREAM);
    return new Client() {
      @Override
      public Kind kind() {
        return Kind.LETTUCE_MASTER_REPLICA;
      }

      @Override
      public void set(String key, String value) {
        connection.sync().set(key, value);
      }

      @Override
      public void close() {
        connection.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      }
    };
  }

  /** Redisson in sentinel mode. */
  private static Client redisson(RedisHaTopology t) {
    Config config = new Config();
    SentinelServersConfig sentinel = config.useSentinelServers().setMasterName(t.masterName()).setTimeout(2_000).setConnectTimeout(1_000);
    for (HostAndPort s : t.sentinelAddresses()) {
      sentinel.addSentinelAddress("redis://" + s.getHost() + ":" + s.getPort());
    }
    RedissonClient client = Redisson.create(config);
    return new Client() {
      @Override
      public Kind kind() {
        return Kind.REDISSON_SENTINEL;
      }

      @Override
      public void set(String key, String value) {
        client.getBucket(key, org.redisson.client.codec.StringCodec.INSTANCE).set(value);
      }

      @Override
      public void close() {
        client.shutdown();
      }
    };
  }
}
