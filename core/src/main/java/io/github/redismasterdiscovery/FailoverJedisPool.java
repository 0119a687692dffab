package io.github.redismasterdiscovery;

import java.util.Objects;
import java.util.function.Function;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisPool;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * A drop-in {@link JedisPool} whose connections always go to the master a {@link MasterDiscovery}
 * has verified. Code written against {@code JedisPool} keeps compiling and working; only the
 * constructor changes:
 *
 * <pre>{@code
 * JedisPool pool = new FailoverJedisPool(discovery, poolConfig, clientConfig);
 * try (Jedis jedis = pool.getResource()) {
 *   jedis.set("k", "v");
 * }
 * }</pre>
 *
 * <ul>
 *   <li>On a master change idle connections are cleared at once; a connection borrowed before
 *       the change is destroyed when returned, never pooled again.
 *   <li>{@link #getResource()} never hands out a connection opened for an earlier master.
 *   <li>While there is no master it waits up to the pool's {@code maxWait} (10 s when that is
 *       infinite) for one, then throws {@link MasterUnavailableException} naming every source's state.
 *   <li>{@link #execute(Function)} retries what failed in a failover, as {@link RetryPolicy} says.
 * </ul>
 *
 * <p>The discovery is shared, not owned: closing the pool does not close it.
 */
public class FailoverJedisPool extends JedisPool {

  private final MasterFollowingPool<Jedis> following;
  private final Retrier retrier;

  /** A pool with Jedis' default pool settings and the discovery's Redis client configuration. */
  public FailoverJedisPool(MasterDiscovery discovery) {
    this(discovery, new GenericObjectPoolConfig<>());
  }

  /** A pool with these pool settings and the discovery's Redis client configuration. */
  public FailoverJedisPool(MasterDiscovery discovery, GenericObjectPoolConfig<Jedis> poolConfig) {
    this(discovery, poolConfig, Objects.requireNonNull(discovery, "discovery").redisClientConfig());
  }

  /** A pool with these pool settings and this client configuration (user, password, TLS, timeouts, client name, database). */
  public FailoverJedisPool(MasterDiscovery discovery, GenericObjectPoolConfig<Jedis> poolConfig, JedisClientConfig clientConfig) {
    this(discovery, poolConfig, clientConfig, RetryPolicy.defaults());
  }

  /** As above, with the retry policy used by {@link #execute(Function)}. */
  public FailoverJedisPool(MasterDiscovery discovery, GenericObjectPoolConfig<Jedis> poolConfig, JedisClientConfig clientConfig,
      RetryPolicy retryPolicy) {
    this(new MasterFollowingPool<>(Objects.requireNonNull(discovery, "discovery"), Objects.requireNonNull(clientConfig, "clientConfig"),
        new JedisKind(), MasterFollowingPool.noMasterWait(Objects.requireNonNull(poolConfig, "poolConfig"))), poolConfig,
        Objects.requireNonNull(retryPolicy, "retryPolicy"));
  }

  private FailoverJedisPool(MasterFollowingPool<Jedis> following, GenericObjectPoolConfig<Jedis> poolConfig, RetryPolicy policy) {
    super(poolConfig, following);
    this.following = following;
    this.retrier = new Retrier(following.discovery(), policy);
    following.attach(this);
  }

  /**
   * A connection to the verified master.
   *
   * @throws MasterUnavailableException when no master is verified within the pool's maxWait
   */
  @Override
  public Jedis getResource() {
    return following.borrow(super::getResource);
  }

  /**
   * Runs {@code command} on a connection to the master, retrying on the new master what certainly
   * did not run (no connection, {@code READONLY}) until the retry deadline. A connection that broke
   * mid-command is ambiguous and is retried only when the policy allows every ambiguous retry, as
   * the pool cannot tell what {@code command} sends; use {@link #executeIdempotent} for commands
   * safe to run twice. With {@link RetryPolicy.Builder#waitForReplicas} every call ends with a
   * {@code WAIT}.
   */
  public <T> T execute(Function<Jedis, T> command) {
    return execute(command, false);
  }

  /** Like {@link #execute(Function)}, also retrying ambiguous failures: {@code command} must be safe to run twice. */
  public <T> T executeIdempotent(Function<Jedis, T> command) {
    return execute(command, true);
  }

  private <T> T execute(Function<Jedis, T> command, boolean idempotent) {
    Objects.requireNonNull(command, "command");
    RetryPolicy policy = retrier.policy();
    return retrier.run(null, () -> {
      Jedis jedis;
      try {
        jedis = getResource();
      } catch (JedisConnectionException e) {
        throw new Retrier.AttemptFailed(Retrier.Failure.NOT_EXECUTED, e);
      }
      try (jedis) {
        T result = command.apply(jedis);
        if (policy.waitReplicas() > 0) {
          long acked = jedis.waitReplicas(policy.waitReplicas(), policy.waitTimeout().toMillis());
          if (acked < policy.waitReplicas()) {
            throw new ReplicaAcknowledgmentException(acked, policy.waitReplicas(), policy.waitTimeout().toMillis());
          }
        }
        return result;
      } catch (JedisDataException | JedisConnectionException e) {
        if (e instanceof JedisDataException && Retrier.isReadOnly((JedisDataException) e)) {
          jedis.getConnection().setBroken(); // a replica: never pool this connection again
        }
        RuntimeException classified = Retrier.inFlight(e);
        throw idempotent ? Retrier.asNotExecuted(classified) : classified;
      }
    });
  }

  /** Destroys a broken connection and has the discovery re-verify the master at once. */
  @Override
  public void returnBrokenResource(Jedis resource) {
    following.broken();
    super.returnBrokenResource(resource);
  }

  /** Failovers followed, stale connections discarded, time of the last switch. */
  public FailoverStats failoverStats() {
    return following.stats();
  }

  /** The discovery this pool follows. */
  public MasterDiscovery discovery() {
    return following.discovery();
  }

  /** Closes the pool's connections and stops following the discovery (which stays open). */
  @Override
  public void close() {
    following.detach();
    super.close();
  }

  @Override
  public String toString() {
    return "FailoverJedisPool{master=" + discovery().snapshot().master().map(HostAndPort::toString).orElse("none")
        + ", active=" + getNumActive() + ", idle=" + getNumIdle() + ", " + failoverStats() + "}";
  }

  /** Opens, checks and closes Jedis connections like Jedis' own factory. */
  private static final class JedisKind implements MasterFollowingPool.Kind<Jedis> {
    @Override
    public Jedis open(HostAndPort master, JedisClientConfig config) {
      Jedis jedis = new Jedis(master, config);
      try {
        jedis.connect();
        return jedis;
      } catch (RuntimeException e) {
        close(jedis);
        throw e;
      }
    }

    @Override
    public void activate(Jedis jedis, JedisClientConfig config) {
      if (jedis.getDB() != config.getDatabase()) {
        jedis.select(config.getDatabase());
      }
    }

    @Override
    public boolean ping(Jedis jedis) {
      try {
        return jedis.isConnected() && "PONG".equals(jedis.ping());
      } catch (RuntimeException e) {
        return false;
      }
    }

    @Override
    public void close(Jedis jedis) {
      try {
        jedis.disconnect();
      } catch (RuntimeException ignored) {
        // already broken
      }
    }
  }
}
