package io.github.redismasterdiscovery;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.commons.pool2.PooledObject;
import org.apache.commons.pool2.PooledObjectFactory;
import org.apache.commons.pool2.impl.DefaultPooledObject;
import org.apache.commons.pool2.impl.GenericObjectPool;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.exceptions.JedisException;

/**
 * The mechanism behind {@link FailoverJedisPool} and {@link FailoverConnectionProvider}: every
 * pooled object is tagged with the discovery generation it was opened in, and an object of an
 * older generation is never handed out (checked on borrow) and never pooled again (checked on
 * return). On a master change idle objects are cleared at once.
 *
 * <p>Waiting happens in one place only: {@link #borrow}, under one deadline (the pool's
 * {@code maxWait}, 10 s when that is infinite). Creating an object never waits: with no master it
 * fails at once, so commons-pool2's shared evictor thread ({@code minIdle}) is never held up.
 *
 * @param <T> {@code Jedis} or {@code Connection}
 */
final class MasterFollowingPool<T> implements PooledObjectFactory<T>, MasterListener, FollowingConnection.Gate,
    DiscoveryLoop.FenceObserver {

  /** How to open, check and close one kind of pooled object. */
  interface Kind<T> {
    /** Opens an object over {@code connection}, already connected to the master. */
    T wrap(FollowingConnection connection);

    /** The connection under the object. */
    FollowingConnection connection(T object);

    /** Restores per-borrow state (the configured database, after a user's SELECT). */
    void activate(T object, JedisClientConfig config);

    boolean ping(T object);

    void close(T object);
  }

  /** The pool's own borrow with a bounded wait: {@code GenericObjectPool.borrowObject(Duration)}. */
  interface Lender<T> {
    T lend(Duration maxWait) throws Exception;
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
  private final AtomicLong failovers = new AtomicLong();
  private final AtomicLong staleDiscarded = new AtomicLong();
  private final AtomicLong inFlightAtFences = new AtomicLong();
  private final AtomicLong refusedSends = new AtomicLong();
  private final AtomicLong cutConnections = new AtomicLong();
  private final Set<FollowingConnection> live = ConcurrentHashMap.newKeySet();
  private volatile Instant lastSwitch;
  private volatile GenericObjectPool<T> pool;

  MasterFollowingPool(MasterDiscovery discovery, JedisClientConfig config, Kind<T> kind) {
    this.discovery = discovery;
    this.config = config;
    this.kind = kind;
  }

  /** Connects this mechanism to the pool it serves and starts following the master. */
  void attach(GenericObjectPool<T> pool) {
    this.pool = pool;
    discovery.addFollower(this);
    discovery.addFenceObserver(this);
  }

  void detach() {
    discovery.removeFollower(this);
    discovery.removeFenceObserver(this);
  }

  /** The one deadline of a borrow: the pool's maxWait as it is set now, else 10 s (never forever). */
  private Duration maxWait() {
    return bounded(pool.getMaxWaitDuration());
  }

  /** A pool's maxWait as a deadline: an infinite (negative) one counts as 10 s. */
  static Duration bounded(Duration maxWait) {
    return maxWait.isNegative() ? Duration.ofSeconds(10) : maxWait;
  }

  /**
   * Borrows through {@code lender} within one deadline, whatever happens inside: waits for a master
   * when there is none, tries again when the master changed while an object was being opened, and
   * once more when the master refused a connection (after the discovery has re-checked it).
   *
   * @throws MasterUnavailableException when no master is verified before the deadline
   * @throws JedisException as {@code JedisPool} throws it otherwise (pool exhausted, connect failed)
   */
  T borrow(Lender<T> lender) {
    Duration maxWait = maxWait();
    long deadline = System.nanoTime() + maxWait.toNanos();
    boolean refusedOnce = false;
    while (true) {
      discovery.awaitVerdict(deadline); // after a READONLY or a refused connect, or at a write fence: the verdict first
      if (discovery.snapshot().master().isEmpty()) {
        awaitMaster(deadline, maxWait);
      }
      RuntimeException failure;
      try {
        T object = lender.lend(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        kind.connection(object).shareDeadline(deadline); // its first command waits at a fence within the same maxWait
        return object;
      } catch (MasterUnavailableException e) {
        failure = e; // the master was lost between the check and the connect: wait for the next one
      } catch (JedisException e) {
        if (refusedOnce) {
          throw e;
        }
        // The verified master refused a connection and makeObject doubted it: try once more on
        // whatever the re-check decides, rather than failing at once.
        refusedOnce = true;
        failure = e;
      } catch (NoSuchElementException e) {
        if (!(e.getCause() instanceof StaleException)) {
          throw new JedisException("Could not get a resource from the pool", e); // exhausted: as JedisPool says it
        }
        failure = new JedisException("Could not get a resource from the pool", e); // opened just as the master changed
      } catch (Exception e) {
        throw new JedisException("Could not get a resource from the pool", e);
      }
      if (System.nanoTime() - deadline >= 0) {
        throw failure instanceof MasterUnavailableException ? failure
            : new MasterUnavailableException("no usable Redis master within " + maxWait.toMillis() + " ms (" + failure.getMessage() + ")",
                discovery.snapshot());
      }
    }
  }

  private void awaitMaster(long deadline, Duration maxWait) {
    try {
      discovery.awaitMaster(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
    } catch (MasterUnavailableException e) {
      if (!e.configurationErrors().isEmpty()) {
        throw e; // gave up at once on a configuration error: its message says what to fix, not "within maxWait"
      }
      throw new MasterUnavailableException("no verified Redis master within " + maxWait.toMillis() + " ms", e.snapshot());
    }
  }

  FailoverStats stats() {
    return new FailoverStats(failovers.get(), staleDiscarded.get(), lastSwitch, inFlightAtFences.get(), refusedSends.get(), cutConnections.get());
  }

  MasterDiscovery discovery() {
    return discovery;
  }

  /**
   * Follows a new master: only a change of identity (a new generation) counts; a master lost and
   * found again unchanged keeps its connections. Listeners hear of changes on one thread, so this
   * notice may come after the pool already connected to the master it announces (a slow listener
   * ran first): then no connection is older than it and nothing is cleared.
   *
   * <p>Connections of an older master that are waiting for it (a blocking command, a subscription,
   * unread replies) are cut: their threads get a {@link MasterChangedException} now instead of
   * waiting on a node that is, or is about to be, a replica. Idle and held connections need nothing:
   * their next command is refused unsent.
   */
  @Override
  public void onMasterChange(MasterSnapshot previous, MasterSnapshot current) {
    long generation = current.generation();
    if (generation == previous.generation()) {
      return;
    }
    if (current.master().isPresent() && previous.lastKnownMaster().isPresent()) {
      failovers.incrementAndGet();
      lastSwitch = current.verifiedAt().orElseGet(Instant::now);
    }
    String now = current.master().map(HostAndPort::toString).orElse("none yet");
    boolean older = false;
    for (FollowingConnection c : live) {
      if (c.generation() < generation) {
        older = true;
        if (c.busy()) {
          cutConnections.incrementAndGet();
          c.cut(c.subscribed()
              ? "subscription on " + c.node() + " ended: the master changed (now " + now + "); subscribe again on the new master"
              : "connection to " + c.node() + " closed while waiting for a reply: the master changed (now " + now + ")");
        }
      }
    }
    GenericObjectPool<T> p = pool;
    if (p != null && older) {
      p.clear(); // idle objects of the old master; borrowed ones are destroyed when returned
    }
  }

  /**
   * Lets {@code connection} send, or refuses unsent. The usual case is one volatile read: the
   * connection's generation is current and no fence holds it. A connection of an older generation
   * never sends again, fence or not: its master has been replaced and may acknowledge writes that
   * its demotion will drop. At a fence on its own generation the command waits for the verdict,
   * within the pool's {@code maxWait} (measured from the borrow for the first command after one).
   */
  @Override
  public void beforeSend(FollowingConnection connection) {
    long generation = connection.generation();
    if (discovery.openGeneration() == generation) {
      return; // the usual case: one volatile read
    }
    if (discovery.snapshot().generation() != generation) {
      throw refuse(connection, "its master was replaced");
    }
    if (connection.validating()) {
      return; // a validation PING writes nothing: it never waits at a fence (commons-pool2's evictor thread serves every pool)
    }
    Duration maxWait = maxWait();
    discovery.awaitVerdict(connection.fenceDeadline(System.nanoTime() + maxWait.toNanos()));
    if (discovery.snapshot().generation() != generation) {
      throw refuse(connection, "the master changed while it waited at the write fence");
    }
    if (discovery.fencedGeneration() == generation) {
      // Still fenced: sending now could write to a master about to be demoted. The connection stays good (an
      // aborted failover lifts the fence), the command is refused like a borrow that found no master in time.
      throw new MasterChangedException("command not sent: a failover of " + connection.node()
          + " is under way (write fence) and no new master was proven within maxWait " + maxWait.toMillis() + " ms; safe to retry");
    }
  }

  /** Breaks {@code connection} (never pooled again) and says what of the work on it may have run. */
  private MasterChangedException refuse(FollowingConnection connection, String why) {
    connection.setBroken();
    refusedSends.incrementAndGet();
    int earlier = connection.pending() - 1; // this command counted itself before asking
    String now = discovery.snapshot().master().map(HostAndPort::toString).orElse("no master yet");
    String ran;
    boolean mayHaveRun = false;
    if (connection.inMulti()) {
      ran = "the open transaction (MULTI) was never executed: nothing of it ran; safe to retry it whole";
    } else if (earlier > 0) {
      ran = earlier + " earlier command(s) sent on this connection are unanswered and may have run on " + connection.node();
      mayHaveRun = true;
    } else {
      ran = "safe to retry";
    }
    return new MasterChangedException("command not sent to " + connection.node() + ": " + why + " (master now " + now
        + "); the connection was opened before that and is closed; " + ran, mayHaveRun, null);
  }

  @Override
  public void demoted() {
    discovery.doubt();
  }

  @Override
  public int inFlight() {
    int n = 0;
    long fenced = discovery.fencedGeneration();
    for (FollowingConnection c : live) {
      if (c.generation() == fenced || fenced < 0) {
        n += c.pending();
      }
    }
    return n;
  }

  @Override
  public void fenced(int inFlight) {
    inFlightAtFences.addAndGet(inFlight);
  }

  /** Opens a connection to the verified master, or fails at once: creating never waits (see the class comment). */
  @Override
  public PooledObject<T> makeObject() {
    MasterSnapshot s = discovery.snapshot();
    HostAndPort master = s.master().orElseThrow(() -> new MasterUnavailableException("no verified Redis master to connect to", s));
    try {
      FollowingConnection connection = new FollowingConnection(master, config, this, s.generation());
      live.add(connection);
      return new Tagged<>(kind.wrap(connection), s.generation());
    } catch (RuntimeException e) {
      discovery.doubt(); // the master refused a connection: re-verify now, not at the next interval
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
    T object = p.getObject();
    return !stale(p) && kind.connection(object).validate(() -> kind.ping(object));
  }

  /**
   * Closes the object. One of the current master broken (an I/O error, {@code READONLY}) has the
   * discovery re-check at once, whichever path destroys it: the application's return, Jedis' own
   * error path in {@code returnResource}, validation, or a retrying executor.
   */
  @Override
  public void destroyObject(PooledObject<T> p) {
    T object = p.getObject();
    FollowingConnection connection = kind.connection(object);
    live.remove(connection);
    if (stale(p)) {
      staleDiscarded.incrementAndGet();
    } else if (connection.isBroken()) {
      discovery.doubt();
    }
    kind.close(object);
  }
}
