package io.github.redismasterdiscovery;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.apache.commons.pool2.PooledObject;
import org.apache.commons.pool2.PooledObjectFactory;
import org.apache.commons.pool2.impl.DefaultPooledObject;
import org.apache.commons.pool2.impl.GenericObjectPool;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.exceptions.JedisException;

/**
 * The mechanism behind {@link FailoverJedisPool} and {@link FailoverConnectionProvider}: every
 * pooled object is tagged with the discovery generation it was opened in, and an object of an
 * older generation is never handed out (checked on borrow) and never pooled again (checked on
 * return). On a master change idle objects are cleared at once.
 *
 * @param <T> {@code Jedis} or {@code Connection}
 */
final class MasterFollowingPool<T> implements PooledObjectFactory<T>, MasterListener {

  /** How to open, check and close one kind of pooled object. */
  interface Kind<T> {
    T open(HostAndPort master, JedisClientConfig config);

    /** Restores per-borrow state (the configured database, after a user's SELECT). */
    void activate(T object, JedisClientConfig config);

    boolean ping(T object);

    void close(T object);
  }

  /** A pooled object and the master generation it belongs to. */
  private static final class Tagged<T> extends DefaultPooledObject<T> {
    final long generation;

    Tagged(T object, long generation) {
      super(object);
      this.generation = generation;
    }
  }

  /** Thrown by the factory for an object of an old generation; the pool then destroys it. */
  static final class StaleException extends Exception {
    private static final long serialVersionUID = 1L;

    StaleException() {
      super("connection belongs to a previous master", null, false, false);
    }
  }

  private final MasterDiscovery discovery;
  private final JedisClientConfig config;
  private final Kind<T> kind;
  private final Duration noMasterWait;
  private final AtomicLong failovers = new AtomicLong();
  private final AtomicLong staleDiscarded = new AtomicLong();
  private volatile Instant lastSwitch;
  private volatile GenericObjectPool<T> pool;

  MasterFollowingPool(MasterDiscovery discovery, JedisClientConfig config, Kind<T> kind, Duration noMasterWait) {
    this.discovery = discovery;
    this.config = RedisConfigs.withExplicitProtocol(config);
    this.kind = kind;
    this.noMasterWait = noMasterWait;
  }

  /** Connects this mechanism to the pool it serves and starts following the master. */
  void attach(GenericObjectPool<T> pool) {
    this.pool = pool;
    discovery.addListener(this);
  }

  void detach() {
    discovery.removeListener(this);
  }

  /** The wait for a master when there is none: the pool's maxWait when set, else 10 s (never forever). */
  static Duration noMasterWait(GenericObjectPoolConfig<?> config) {
    Duration maxWait = config.getMaxWaitDuration();
    return maxWait.isNegative() ? Duration.ofSeconds(10) : maxWait;
  }

  /**
   * Borrows through {@code borrow} (the pool's own getResource), waiting up to the no-master bound
   * for a master first. Tries once more if the master changed while the object was being opened,
   * or if the master refused the connection (after the discovery has re-checked it).
   */
  T borrow(Supplier<T> borrow) {
    for (int attempt = 0; ; attempt++) {
      if (discovery.snapshot().master().isEmpty()) {
        discovery.awaitMaster(noMasterWait);
      }
      long round = discovery.roundsCompleted();
      try {
        return borrow.get();
      } catch (JedisException e) {
        MasterUnavailableException none = cause(e, MasterUnavailableException.class);
        if (none != null) {
          throw none;
        }
        if (attempt > 0) {
          throw e;
        }
        if (cause(e, StaleException.class) == null) {
          // The verified master refused a connection: wait for the round that re-checks it (makeObject
          // asked for one), then try once more on whatever it decided, rather than failing at once.
          discovery.awaitRoundAfter(round, noMasterWait);
        }
      }
    }
  }

  /** A connection broke in the application's hands: the master may be gone, so re-verify now. */
  void broken() {
    discovery.checkNow();
  }

  FailoverStats stats() {
    return new FailoverStats(failovers.get(), staleDiscarded.get(), lastSwitch);
  }

  MasterDiscovery discovery() {
    return discovery;
  }

  @Override
  public void onMasterChange(MasterSnapshot previous, MasterSnapshot current) {
    if (current.master().isPresent() && previous.lastKnownMaster().isPresent()) {
      failovers.incrementAndGet();
      lastSwitch = current.verifiedAt().orElseGet(Instant::now);
    }
    GenericObjectPool<T> p = pool;
    if (p != null) {
      p.clear(); // idle objects of the old master; borrowed ones are destroyed when returned
    }
  }

  @Override
  public PooledObject<T> makeObject() throws Exception {
    MasterSnapshot s = discovery.snapshot();
    if (s.master().isEmpty()) {
      discovery.awaitMaster(noMasterWait);
      s = discovery.snapshot();
    }
    HostAndPort master = s.master().orElseThrow(() -> new MasterUnavailableException("the master was lost again", discovery.snapshot()));
    try {
      return new Tagged<>(kind.open(master, config), s.generation());
    } catch (RuntimeException e) {
      discovery.checkNow(); // the master refused a connection: re-verify now, not at the next interval
      throw e;
    }
  }

  private boolean stale(PooledObject<T> p) {
    return ((Tagged<T>) p).generation != discovery.snapshot().generation();
  }

  @Override
  public void activateObject(PooledObject<T> p) throws Exception {
    if (stale(p)) {
      throw new StaleException();
    }
    kind.activate(p.getObject(), config);
  }

  @Override
  public void passivateObject(PooledObject<T> p) throws Exception {
    if (stale(p)) {
      throw new StaleException();
    }
  }

  @Override
  public boolean validateObject(PooledObject<T> p) {
    return !stale(p) && kind.ping(p.getObject());
  }

  @Override
  public void destroyObject(PooledObject<T> p) {
    if (stale(p)) {
      staleDiscarded.incrementAndGet();
    }
    kind.close(p.getObject());
  }

  private static <E extends Throwable> E cause(Throwable t, Class<E> type) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (type.isInstance(c)) {
        return type.cast(c);
      }
    }
    return null;
  }
}
