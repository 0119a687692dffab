package io.github.redismasterdiscovery;

import java.util.Map;
import java.util.Objects;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.Connection;
import redis.clients.jedis.ConnectionPool;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.providers.ConnectionProvider;

/**
 * A Jedis {@link ConnectionProvider} whose pooled connections always go to the verified master,
 * with the same guarantees as {@link FailoverJedisPool}. Plug it into a {@code UnifiedJedis}
 * (Jedis 7: {@code new UnifiedJedis(provider)}) or a {@code RedisClient} (Jedis 8:
 * {@code RedisClient.builder().connectionProvider(provider).build()}); for retries across a
 * failover add a {@link FailoverCommandExecutor} ({@code new UnifiedJedis(executor, provider, new
 * CommandObjects())} in Jedis 7, {@code .commandExecutor(executor)} in Jedis 8).
 *
 * <p>The discovery is shared, not owned: closing the provider does not close it.
 */
public final class FailoverConnectionProvider implements ConnectionProvider {

  private final MasterFollowingPool<Connection> following;
  private final FollowingConnectionPool pool;

  /** A provider with default pool settings and the discovery's Redis client configuration. */
  public FailoverConnectionProvider(MasterDiscovery discovery) {
    this(discovery, new GenericObjectPoolConfig<>(), Objects.requireNonNull(discovery, "discovery").clientConfig());
  }

  /** A provider with these pool settings and client configuration (user, password, TLS, timeouts, database). */
  public FailoverConnectionProvider(MasterDiscovery discovery, GenericObjectPoolConfig<Connection> poolConfig, JedisClientConfig clientConfig) {
    this.following = new MasterFollowingPool<>(Objects.requireNonNull(discovery, "discovery"), Objects.requireNonNull(clientConfig, "clientConfig"),
        new ConnectionKind());
    this.pool = new FollowingConnectionPool(following, Objects.requireNonNull(poolConfig, "poolConfig"));
    following.attach(pool);
  }

  /**
   * A connection to the verified master; {@code close()} returns it. Waits at most the pool's
   * {@code maxWait} (10 s when that is infinite) in all.
   *
   * @throws MasterUnavailableException when no master is verified within that time
   */
  @Override
  public Connection getConnection() {
    return pool.getResource();
  }

  @Override
  public Connection getConnection(CommandArguments args) {
    return getConnection();
  }

  @Override
  public Map<?, ?> getConnectionMap() {
    HostAndPort master = following.discovery().snapshot().master().orElse(null);
    return master == null ? Map.of() : Map.of(master, pool);
  }

  @Override
  public Map<?, ?> getPrimaryNodesConnectionMap() {
    return getConnectionMap();
  }

  /** Failovers followed, stale connections discarded, time of the last switch. */
  public FailoverStats failoverStats() {
    return following.stats();
  }

  /** Connections currently borrowed. */
  public int numActive() {
    return pool.getNumActive();
  }

  /** Connections idle in the pool. */
  public int numIdle() {
    return pool.getNumIdle();
  }

  MasterDiscovery discovery() {
    return following.discovery();
  }

  /** Closes the pooled connections and stops following the discovery (which stays open). */
  @Override
  public void close() {
    following.detach();
    pool.close();
  }

  @Override
  public String toString() {
    return "FailoverConnectionProvider{master=" + following.discovery().snapshot().master().map(HostAndPort::toString).orElse("none")
        + ", active=" + pool.getNumActive() + ", idle=" + pool.getNumIdle() + ", " + following.stats() + "}";
  }

  /** A {@link ConnectionPool}, so that {@code Connection.close()} returns connections to it. */
  private static final class FollowingConnectionPool extends ConnectionPool {
    private final MasterFollowingPool<Connection> following;

    FollowingConnectionPool(MasterFollowingPool<Connection> following, GenericObjectPoolConfig<Connection> config) {
      super(following, config);
      this.following = following;
    }

    @Override
    public Connection getResource() {
      Connection connection = following.borrow(this::borrowObject);
      connection.setHandlingPool(this);
      return connection;
    }
  }

  /** Opens, checks and closes raw connections. */
  private static final class ConnectionKind implements MasterFollowingPool.Kind<Connection> {
    @Override
    public Connection wrap(FollowingConnection connection) {
      return connection;
    }

    @Override
    public FollowingConnection connection(Connection connection) {
      return (FollowingConnection) connection;
    }

    @Override
    public void activate(Connection connection, JedisClientConfig config) {
      // UnifiedJedis has no SELECT on a shared connection: the database comes from the client configuration.
    }

    @Override
    public boolean ping(Connection connection) {
      return connection.isConnected() && !connection.isBroken() && connection.ping();
    }

    @Override
    public void close(Connection connection) {
      try {
        connection.disconnect();
      } catch (RuntimeException ignored) {
        // already broken
      }
    }
  }
}
