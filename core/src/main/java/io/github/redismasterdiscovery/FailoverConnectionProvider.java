package io.github.redismasterdiscovery;

import java.util.List;
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
 * <p>With {@link ReplicaReads}, read-only commands go to proven replicas as its {@link ReadFrom}
 * says, within its staleness bound; writes always go to the master.
 *
 * <p>The discovery is shared, not owned: closing the provider does not close it.
 */
public final class FailoverConnectionProvider implements ConnectionProvider {

  private final MasterFollowingPool<Connection> following;
  private final FollowingConnectionPool pool;
  private final ReadFrom readFrom;
  private final ReplicaSet replicas;

  /** A provider with default pool settings and the discovery's Redis client configuration. */
  public FailoverConnectionProvider(MasterDiscovery discovery) {
    this(discovery, new GenericObjectPoolConfig<>(), Objects.requireNonNull(discovery, "discovery").clientConfig());
  }

  /** A provider with these pool settings and client configuration (user, password, TLS, timeouts, database). */
  public FailoverConnectionProvider(MasterDiscovery discovery, GenericObjectPoolConfig<Connection> poolConfig, JedisClientConfig clientConfig) {
    this(discovery, poolConfig, clientConfig, ReplicaReads.from(ReadFrom.MASTER));
  }

  /**
   * A provider that also reads from replicas as {@code reads} says: one pool per proven replica,
   * with the same pool settings and client configuration as the master's.
   */
  public FailoverConnectionProvider(MasterDiscovery discovery, GenericObjectPoolConfig<Connection> poolConfig, JedisClientConfig clientConfig,
      ReplicaReads reads) {
    this.following = new MasterFollowingPool<>(Objects.requireNonNull(discovery, "discovery"), Objects.requireNonNull(clientConfig, "clientConfig"),
        new ConnectionKind());
    this.pool = new FollowingConnectionPool(following, Objects.requireNonNull(poolConfig, "poolConfig"));
    this.readFrom = Objects.requireNonNull(reads, "reads").readFrom();
    this.replicas = readFrom == ReadFrom.MASTER ? null : new ReplicaSet(discovery, reads, poolConfig, clientConfig);
    following.attach(pool);
    if (replicas != null) {
      replicas.start();
    }
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

  /**
   * A connection for this command: to a proven replica when replica reads are on, the command only
   * reads and the {@link ReadFrom} says so; otherwise to the master, as {@link #getConnection()}.
   *
   * @throws redis.clients.jedis.exceptions.JedisConnectionException with {@link ReadFrom#REPLICA}, when no replica is proven (the
   *     message says what each replica last answered)
   * @throws redis.clients.jedis.exceptions.JedisException with {@link ReadFrom#REPLICA}, when every
   *     proven replica's pool stayed exhausted for {@code maxWait}
   */
  @Override
  public Connection getConnection(CommandArguments args) {
    if (replicas == null || args == null || !Commands.isReplicaRead(args)) {
      return getConnection();
    }
    Connection replica;
    switch (readFrom) {
      case MASTER_PREFERRED:
        if (following.discovery().snapshot().master().isPresent()) {
          return getConnection();
        }
        replica = replicas.borrow(false);
        return replica != null ? replica : getConnection();
      case REPLICA_PREFERRED:
        replica = replicas.borrow(false);
        return replica != null ? replica : getConnection();
      case REPLICA:
        return replicas.borrow(true);
      case LOWEST_LATENCY:
        replica = replicas.borrowNearest();
        return replica != null ? replica : getConnection();
      default:
        return getConnection();
    }
  }

  /** The replicas that serve reads now (empty without replica reads). */
  public List<HostAndPort> readReplicas() {
    return replicas == null ? List.of() : replicas.proven();
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
    if (replicas != null) {
      replicas.close();
    }
    following.detach();
    pool.close();
  }

  @Override
  public String toString() {
    return "FailoverConnectionProvider{master=" + following.discovery().snapshot().master().map(HostAndPort::toString).orElse("none")
        + (replicas == null ? "" : ", readFrom=" + readFrom + ", readReplicas=" + replicas.proven())
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
