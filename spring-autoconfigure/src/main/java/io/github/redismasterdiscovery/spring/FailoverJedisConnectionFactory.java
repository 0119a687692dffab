package io.github.redismasterdiscovery.spring;

import io.github.redismasterdiscovery.FailoverJedisPool;
import io.github.redismasterdiscovery.FailoverStats;
import io.github.redismasterdiscovery.MasterDiscovery;
import java.util.Objects;
import java.util.Optional;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.springframework.data.redis.connection.RedisSentinelConfiguration;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.jedis.JedisClientConfiguration;
import org.springframework.data.redis.connection.jedis.JedisConnectionFactory;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.RedisProtocol;
import redis.clients.jedis.util.Pool;

/**
 * A {@link JedisConnectionFactory} whose connections always go to the master a
 * {@link MasterDiscovery} has verified: its pool is a {@link FailoverJedisPool}. Everything Spring
 * Data Redis builds on a connection factory ({@code RedisTemplate}, {@code StringRedisTemplate},
 * Redis caches, Spring Session) follows the master through failovers without a change.
 *
 * <p>A connection whose node answered {@code READONLY} or broke is destroyed as it is closed and has
 * the discovery re-check at once, so a template's next call goes to the new master; while Sentinel
 * promotes a replica, calls wait at the discovery's write fence instead of writing to the old master.
 *
 * <p>Works on Spring Data Redis 4.0 and 4.1: 4.1 would build a {@code UnifiedJedis} client and never
 * ask for the pool, so this factory keeps the pooled path ({@link #isUseUnifiedJedis()}).
 */
public class FailoverJedisConnectionFactory extends JedisConnectionFactory {

  private final MasterDiscovery discovery;
  private volatile FailoverJedisPool pool;

  /**
   * @param discovery the discovery to follow (not closed by this factory)
   * @param standalone database and credentials of the data nodes; its host and port are not used
   * @param clientConfiguration timeouts, TLS, client name and pool settings; pooling must be on
   */
  public FailoverJedisConnectionFactory(MasterDiscovery discovery, RedisStandaloneConfiguration standalone,
      JedisClientConfiguration clientConfiguration) {
    super(standalone, requirePooling(clientConfiguration));
    this.discovery = Objects.requireNonNull(discovery, "discovery");
  }

  private static JedisClientConfiguration requirePooling(JedisClientConfiguration configuration) {
    if (!configuration.isUsePooling()) {
      throw new IllegalArgumentException("FailoverJedisConnectionFactory needs a pooled JedisClientConfiguration "
          + "(JedisClientConfiguration.builder().usePooling()...): without a pool Spring Data Redis connects to a fixed host");
    }
    return configuration;
  }

  /** Spring Data Redis 4.1: keep the pooled path, where connections come from {@link #createRedisPool()}. Not used by 4.0. */
  public boolean isUseUnifiedJedis() {
    return false;
  }

  /** A new pool on every call: Spring Data Redis closes the pool on {@code stop()} and asks again on {@code start()}. */
  @Override
  @SuppressWarnings("unchecked")
  protected Pool<Jedis> createRedisPool() {
    GenericObjectPoolConfig<Jedis> poolConfig = (GenericObjectPoolConfig<Jedis>) getClientConfiguration().getPoolConfig()
        .orElseGet(GenericObjectPoolConfig::new);
    FailoverJedisPool created = new FailoverJedisPool(discovery, poolConfig, jedisClientConfig());
    this.pool = created;
    return created;
  }

  /** Sentinel is one of the discovery's sources here, never Jedis' {@code JedisSentinelPool}. */
  @Override
  protected Pool<Jedis> createRedisSentinelPool(RedisSentinelConfiguration config) {
    return createRedisPool();
  }

  /** The discovery this factory follows. */
  public MasterDiscovery discovery() {
    return discovery;
  }

  /** Failovers followed and stale connections discarded by the current pool; empty before the factory starts. */
  public Optional<FailoverStats> failoverStats() {
    FailoverJedisPool p = pool;
    return p == null ? Optional.empty() : Optional.of(p.failoverStats());
  }

  /**
   * The Jedis client configuration Spring Data Redis would build (its own is private): timeouts,
   * client name, database, credentials, TLS, and the application's customizer.
   */
  private JedisClientConfig jedisClientConfig() {
    JedisClientConfiguration c = getClientConfiguration();
    DefaultJedisClientConfig.Builder b = DefaultJedisClientConfig.builder()
        .connectionTimeoutMillis((int) c.getConnectTimeout().toMillis())
        .socketTimeoutMillis((int) c.getReadTimeout().toMillis())
        .database(getDatabase())
        // Spring Data Redis reads replies with the Jedis class's RESP2 builders; Jedis 8 would otherwise ask to negotiate.
        .protocol(RedisProtocol.RESP2);
    c.getClientName().ifPresent(b::clientName);
    RedisStandaloneConfiguration standalone = getStandaloneConfiguration();
    String user = standalone.getUsername();
    if (user != null && !user.isEmpty()) {
      b.user(user);
    }
    standalone.getPassword().toOptional().ifPresent(password -> b.password(new String(password)));
    if (c.isUseSsl()) {
      b.ssl(true);
      c.getSslSocketFactory().ifPresent(b::sslSocketFactory);
      c.getSslParameters().ifPresent(b::sslParameters);
      c.getHostnameVerifier().ifPresent(b::hostnameVerifier);
    }
    c.getCustomizer().ifPresent(customizer -> customizer.customize(b));
    return b.build();
  }
}
