package io.github.redismasterdiscovery;

import java.util.Objects;
import java.util.function.Function;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisPool;
import redis.clients.jedis.JedisPubSub;
import redis.clients.jedis.RedisProtocol;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;

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
 *   <li>A connection whose node answered {@code READONLY} (a demoted master) or broke counts as
 *       broken from that moment: {@code close()} destroys it, and the discovery re-checks at once;
 *       borrowers wait for that verdict rather than reconnect to the same node.
 *   <li>While there is no master {@link #getResource()} waits up to the pool's {@code maxWait} (10 s
 *       when that is infinite) for one, then throws {@link MasterUnavailableException} naming every
 *       source's state.
 *   <li>{@link #execute(Function)} retries what failed in a failover, as {@link RetryPolicy} says.
 * </ul>
 *
 * <h2>Where it differs from {@code JedisPool}</h2>
 * Every other public method inherited from {@code JedisPool}, {@code Pool} and
 * {@code GenericObjectPool} (settings, statistics, {@code returnResource}, {@code clear},
 * {@code evict}, {@code invalidateObject}, ...) behaves as in {@code JedisPool}
 * ({@code FailoverJedisPoolTest} walks them all).
 * <ul>
 *   <li>{@link #getResource()}: one deadline for everything it waits for, as above. With
 *       {@code maxWait} infinite, an exhausted pool also waits at most 10 s.
 *   <li>{@code addObject}, {@code addObjects}, {@code preparePool} and the {@code minIdle} top-up
 *       open connections only while a master is verified, and otherwise fail at once with
 *       {@link MasterUnavailableException}: creating a connection never waits, so commons-pool2's
 *       evictor thread, shared by every pool in the JVM, is never held up.
 *   <li>{@code borrowObject(..)}: commons-pool2's raw borrow, as in {@code JedisPool} (the
 *       connection is not tied to the pool; give it back with {@code returnObject}); it does not
 *       wait for a master.
 *   <li>{@link #close()} and {@link #destroy()} also stop following the discovery.
 *   <li>{@code getFactory()} is the library's; on Jedis 8 a configuration that asks for protocol
 *       negotiation speaks RESP2, as Jedis 8's {@code JedisPool} does (one WARN per pool, not per
 *       connection); RESP3 needs Jedis 8 ({@link FailoverConnectionProvider} with a {@code RedisClient}
 *       otherwise).
 * </ul>
 *
 * <p>The discovery is shared, not owned: closing the pool does not close it. Close pools first,
 * then the discovery.
 */
public class FailoverJedisPool extends JedisPool {

  private static final Logger log = LoggerFactory.getLogger(FailoverJedisPool.class);

  private final MasterFollowingPool<Jedis> following;
  private final Retrier retrier;
  private final java.util.Set<FailoverSubscription> subscriptions = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** A pool with Jedis' default pool settings and the discovery's Redis client configuration. */
  public FailoverJedisPool(MasterDiscovery discovery) {
    this(discovery, new GenericObjectPoolConfig<>());
  }

  /** A pool with these pool settings and the discovery's Redis client configuration. */
  public FailoverJedisPool(MasterDiscovery discovery, GenericObjectPoolConfig<Jedis> poolConfig) {
    this(discovery, poolConfig, Objects.requireNonNull(discovery, "discovery").clientConfig());
  }

  /** A pool with these pool settings and this client configuration (user, password, TLS, timeouts, client name, database). */
  public FailoverJedisPool(MasterDiscovery discovery, GenericObjectPoolConfig<Jedis> poolConfig, JedisClientConfig clientConfig) {
    this(discovery, poolConfig, clientConfig, RetryPolicy.defaults());
  }

  /** As above, with the retry policy used by {@link #execute(Function)}. */
  public FailoverJedisPool(MasterDiscovery discovery, GenericObjectPoolConfig<Jedis> poolConfig, JedisClientConfig clientConfig,
      RetryPolicy retryPolicy) {
    this(new MasterFollowingPool<>(Objects.requireNonNull(discovery, "discovery"), JedisKind.check(clientConfig), new JedisKind()),
        Objects.requireNonNull(poolConfig, "poolConfig"), Objects.requireNonNull(retryPolicy, "retryPolicy"));
  }

  private FailoverJedisPool(MasterFollowingPool<Jedis> following, GenericObjectPoolConfig<Jedis> poolConfig, RetryPolicy policy) {
    super(poolConfig, following);
    this.following = following;
    this.retrier = new Retrier(following.discovery(), policy);
    following.attach(this);
  }

  /**
   * A connection to the verified master. Waits at most the pool's {@code maxWait} (10 s when that
   * is infinite) in all: for a master, for an idle connection, and for one retry when the master
   * refused to connect.
   *
   * @throws MasterUnavailableException when no master is verified within that time
   * @throws JedisException as {@code JedisPool} does when the pool is exhausted or closed
   */
  @Override
  public Jedis getResource() {
    Jedis jedis = following.borrow(this::borrowObject);
    ((FollowingJedis) jedis).lentBy(this);
    return jedis;
  }

  /**
   * Runs {@code command} on a connection to the master, retrying on the new master what certainly
   * did not run until the retry deadline: no connection, or a failure ({@code READONLY}, a command
   * refused at a failover) of the <em>first</em> command {@code command} sent. When it fails after
   * sending more than one command ({@code INCR a; SET b}), the earlier ones ran or may have, so the
   * failure is ambiguous, and so is a connection that broke mid-command; ambiguous failures are
   * retried only when the policy allows every ambiguous retry, as the pool cannot tell what
   * {@code command} sends. Use {@link #executeIdempotent} for work safe to run twice. With
   * {@link RetryPolicy.Builder#waitForReplicas} every call ends with a {@code WAIT}.
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
      FollowingConnection connection = (FollowingConnection) jedis.getConnection();
      long sentBefore = connection.sentThatMayHaveRun();
      try (jedis) { // a connection that got READONLY is already marked broken, so close() destroys it
        T result = command.apply(jedis);
        if (policy.waitReplicas() > 0) {
          long acked = jedis.waitReplicas(policy.waitReplicas(), policy.waitTimeout().toMillis());
          if (acked < policy.waitReplicas()) {
            throw new ReplicaAcknowledgmentException(acked, policy.waitReplicas(), policy.waitTimeout().toMillis());
          }
        }
        return result;
      } catch (JedisDataException | JedisConnectionException e) {
        // Commands of this lambda sent before the failing one; a command refused at the gate was never counted as sent,
        // and commands queued in a MULTI whose EXEC never went out did not run and do not count.
        long earlier = connection.sentThatMayHaveRun() - sentBefore - (e instanceof MasterChangedException || connection.inMulti() ? 0 : 1);
        RuntimeException classified = Retrier.inFlight(e);
        throw idempotent ? Retrier.asNotExecuted(classified) : Retrier.afterEarlierCommands(classified, earlier, policy);
      }
    });
  }

  /**
   * Subscribes {@code pubSub} to {@code channels} on the master, on a thread of its own, and keeps
   * it subscribed on whichever node is master: see {@link FailoverSubscription}. (A plain
   * {@code jedis.subscribe(..)} on a pooled connection is ended with a {@link MasterChangedException}
   * at a switch, so the application can subscribe again itself; this does it for it.)
   */
  public FailoverSubscription subscribe(JedisPubSub pubSub, String... channels) {
    return track(FailoverSubscription.start(this, pubSub, false, channels));
  }

  /** As {@link #subscribe}, for patterns ({@code PSUBSCRIBE}). */
  public FailoverSubscription psubscribe(JedisPubSub pubSub, String... patterns) {
    return track(FailoverSubscription.start(this, pubSub, true, patterns));
  }

  private FailoverSubscription track(FailoverSubscription s) {
    subscriptions.add(s);
    s.onEnd(subscriptions::remove);
    return s;
  }

  /** Failovers followed, stale connections discarded, time of the last switch. */
  public FailoverStats failoverStats() {
    return following.stats();
  }

  /** The discovery this pool follows. */
  public MasterDiscovery discovery() {
    return following.discovery();
  }

  /**
   * Ends the pool's subscriptions, closes its connections and stops following the discovery (which stays open). Also what
   * {@link #close()} does, as in {@code JedisPool}.
   */
  @Override
  public void destroy() {
    subscriptions.forEach(FailoverSubscription::close); // a subscription never outlives its pool
    following.detach();
    super.destroy();
  }

  @Override
  public String toString() {
    return "FailoverJedisPool{master=" + discovery().snapshot().master().map(HostAndPort::toString).orElse("none")
        + ", active=" + getNumActive() + ", idle=" + getNumIdle() + ", " + failoverStats() + "}";
  }

  /** A pooled Jedis over a {@link FollowingConnection}, which the pool lends like {@code JedisPool} does. */
  private static final class FollowingJedis extends Jedis {
    FollowingJedis(FollowingConnection connection) {
      super(connection);
    }

    /** So that {@code close()} returns it to {@code pool}, as {@code JedisPool.getResource()} arranges. */
    void lentBy(FailoverJedisPool pool) {
      setDataSource(pool);
    }
  }

  /** Opens, checks and closes Jedis connections like Jedis' own factory. */
  private static final class JedisKind implements MasterFollowingPool.Kind<Jedis> {
    /**
     * Jedis 7's {@code Jedis(Connection)} does not take the connection's protocol, so a RESP3
     * connection would be read with RESP2 reply builders; Jedis 8's does.
     */
    private static final boolean CONNECTION_CARRIES_PROTOCOL = classExists("redis.clients.jedis.RedisClient");

    /** The configuration as Jedis' {@code JedisPool} would use it, or an error naming the fix. */
    static JedisClientConfig check(JedisClientConfig config) {
      Objects.requireNonNull(config, "clientConfig");
      if (config.getRedisProtocol() == RedisProtocol.RESP3 && !CONNECTION_CARRIES_PROTOCOL) {
        throw new IllegalArgumentException("clientConfig asks for RESP3, which FailoverJedisPool supports only on Jedis 8: "
            + "use Jedis 8, or FailoverConnectionProvider with a UnifiedJedis on Jedis 7");
      }
      JedisClientConfig legacy = RedisConfigs.forLegacyJedis(config);
      if (legacy != config) {
        log.warn("clientConfig sets no protocol and asks Jedis to negotiate one, which the Jedis class cannot: like Jedis 8's JedisPool, "
            + "FailoverJedisPool speaks RESP2 (set a protocol or autoNegotiateProtocol(false) to silence this; for RESP3 use "
            + "FailoverConnectionProvider with a RedisClient)");
      }
      return legacy;
    }

    @Override
    public Jedis wrap(FollowingConnection connection) {
      return new FollowingJedis(connection);
    }

    @Override
    public FollowingConnection connection(Jedis jedis) {
      return (FollowingConnection) jedis.getConnection();
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

    private static boolean classExists(String name) {
      try {
        Class.forName(name, false, Jedis.class.getClassLoader());
        return true;
      } catch (ClassNotFoundException e) {
        return false;
      }
    }
  }
}
