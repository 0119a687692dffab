package io.github.redismasterdiscovery;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.commons.pool2.PooledObject;
import org.apache.commons.pool2.PooledObjectFactory;
import org.apache.commons.pool2.impl.DefaultPooledObject;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.Connection;
import redis.clients.jedis.ConnectionPool;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;

/**
 * The replicas a {@link FailoverConnectionProvider} may read from, proven as {@link ReplicaReads}
 * describes, with one connection pool per replica. Checks run on the discovery's shared threads;
 * picking a replica for a read is a few volatile reads.
 */
final class ReplicaSet implements MasterListener, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ReplicaSet.class);

  static final String CLIENT_NAME = "rmd-replicas";

  /** A replica held everything the master had acknowledged at {@code atNanos}, in {@code generation}. */
  private record Proof(long generation, long atNanos) {}

  /** The master's replication offset at {@code atNanos}, in {@code generation}: what a replica's acknowledged offset is compared with. */
  private record Sample(long generation, long atNanos, long offset) {}

  /** Master samples kept: enough to date a replica's acknowledgment (sent once a second) at any check interval. */
  static final int SAMPLES = 32;
  /** A replica is asked directly at least every this many checks, for its round trip ({@link ReadFrom#NEAREST}). */
  static final int DIRECT_EVERY = 10;

  private final MasterDiscovery discovery;
  private final ReplicaReads reads;
  private final long maxStalenessNanos;
  private final JedisClientConfig readConfig;
  private final JedisClientConfig checkConfig;
  private final GenericObjectPoolConfig<Connection> poolConfig;
  private final Duration maxWait;
  private final SharedRuntime runtime;
  private final AddressTranslator translator;
  private final Map<HostAndPort, Replica> replicas = new ConcurrentHashMap<>();
  private volatile Replica[] listed = new Replica[0];
  private final AtomicInteger next = new AtomicInteger();
  private final AtomicBoolean checkQueued = new AtomicBoolean();
  private volatile boolean closed;
  private volatile String lastProblem = "not checked yet";
  private volatile long masterRttNanos = Long.MAX_VALUE;
  private ScheduledFuture<?> timer;
  private Jedis masterConnection;
  private HostAndPort masterConnectionTo;
  /** The master's recent offsets, oldest first; guarded by this object's lock. */
  private final ArrayDeque<Sample> samples = new ArrayDeque<>();

  ReplicaSet(MasterDiscovery discovery, ReplicaReads reads, GenericObjectPoolConfig<Connection> poolConfig, JedisClientConfig readConfig) {
    this.discovery = discovery;
    this.reads = reads;
    this.maxStalenessNanos = reads.maxStaleness().toNanos();
    this.readConfig = readConfig;
    Duration timeout = discovery.probeTimeout();
    this.checkConfig = RedisConfigs.named(RedisConfigs.withTimeouts(readConfig, timeout), CLIENT_NAME);
    this.poolConfig = poolConfig.clone();
    this.maxWait = MasterFollowingPool.bounded(poolConfig.getMaxWaitDuration());
    this.runtime = discovery.runtime();
    this.translator = discovery.translator();
  }

  /** Starts checking, now and every check interval, and re-checks at once on each master change. */
  void start() {
    discovery.addFollower(this);
    checkSoon();
  }

  @Override
  public void onMasterChange(MasterSnapshot previous, MasterSnapshot current) {
    checkSoon(); // proofs of the old generation ended with it (see eligible); prove the replicas of the new master
  }

  private void checkSoon() {
    if (!closed && checkQueued.compareAndSet(false, true)) {
      if (!runtime.io(this::checkAndReschedule)) {
        checkQueued.set(false);
      }
    }
  }

  private void checkAndReschedule() {
    checkQueued.set(false);
    synchronized (this) {
      if (closed) {
        return;
      }
      if (timer != null) {
        timer.cancel(false);
      }
      try {
        check();
      } catch (RuntimeException e) {
        lastProblem = "check failed: " + JedisRoleProbe.firstLine(e);
        log.debug("replica check failed", e);
      }
      timer = closed ? null : runtime.later(reads.checkInterval().toNanos(), this::checkAndReschedule);
    }
  }

  /**
   * One round: one {@code ROLE} to the master, whose reply lists every connected replica with the
   * offset it last acknowledged (replicas acknowledge once a second). A replica whose acknowledged
   * offset reaches the master's offset of an earlier check held everything the master had then: that
   * proves it, without asking it, as long as the proof stays within {@code maxStaleness} until the
   * next check. Only a replica the master's view cannot prove in time (one that lags, a new master's
   * first seconds, a short {@code maxStaleness}) or whose round trip is due is asked directly. So a
   * check costs the servers one command, not one per node. Runs under this object's lock.
   */
  private void check() {
    MasterSnapshot s = discovery.snapshot();
    HostAndPort master = s.master().orElse(null);
    if (master == null) {
      lastProblem = "no verified master to compare replicas with";
      return; // proofs run out on their own
    }
    long generation = s.generation();
    long askedAt = System.nanoTime();
    List<Object> role;
    try {
      Jedis connection = masterConnection(master);
      long sent = System.nanoTime();
      role = connection.role();
      masterRttNanos = average(masterRttNanos, System.nanoTime() - sent);
    } catch (RuntimeException e) {
      closeMasterConnection();
      lastProblem = master + " (master): " + Misconfiguration.describeOrFirstLine(e, Misconfiguration.Peer.NODE);
      return;
    }
    if (role.size() < 3 || !"master".equals(JedisRoleProbe.text(role.get(0)))) {
      lastProblem = master + " no longer answers as master";
      discovery.checkNow();
      return;
    }
    long masterOffset = ((Number) role.get(1)).longValue();
    remember(new Sample(generation, askedAt, masterOffset));
    Map<HostAndPort, Replica> seen = new LinkedHashMap<>();
    Map<Replica, Long> acknowledged = new LinkedHashMap<>();
    for (Object entry : (List<?>) role.get(2)) {
      List<?> e = (List<?>) entry;
      HostAndPort announced = new HostAndPort(JedisRoleProbe.text(e.get(0)), Integer.parseInt(JedisRoleProbe.text(e.get(1))));
      HostAndPort address = translator.translate(announced);
      if (address != null && !address.equals(master)) {
        Replica r = replicas.computeIfAbsent(address, Replica::new);
        seen.put(address, r);
        if (e.size() > 2) {
          acknowledged.put(r, Long.parseLong(JedisRoleProbe.text(e.get(2))));
        }
      }
    }
    for (Replica gone : replicas.values()) {
      if (!seen.containsKey(gone.address)) {
        replicas.remove(gone.address); // the master no longer lists it: its link is down
        gone.drop(master + " no longer lists it as a connected replica");
        gone.close();
      }
    }
    listed = seen.values().toArray(new Replica[0]);
    long validUntilNextCheck = maxStalenessNanos - reads.checkInterval().toNanos();
    // Each replica asked directly answers on its own I/O task: one that stalls delays no other's proof, nor the next round.
    for (Replica r : seen.values()) {
      Long ack = acknowledged.get(r);
      Sample held = ack == null ? null : heldAt(ack, generation);
      boolean rttDue = ++r.checksSinceDirect >= DIRECT_EVERY || r.rttNanos == Long.MAX_VALUE;
      if (held != null && System.nanoTime() - held.atNanos() < validUntilNextCheck && !rttDue) {
        r.proven(master, generation, held.atNanos(), "acknowledged master " + master + "'s offset " + held.offset());
        continue;
      }
      r.checksSinceDirect = 0;
      if (r.busy.compareAndSet(false, true) && !runtime.io(() -> {
        try {
          r.verify(master, generation, askedAt, masterOffset);
        } finally {
          r.busy.set(false);
        }
      })) {
        r.busy.set(false);
      }
    }
    lastProblem = listed.length == 0 ? master + " lists no connected replica" : null;
  }

  /** Keeps the master's offset at this check; a new generation starts a new history. Caller holds this object's lock. */
  private void remember(Sample s) {
    if (!samples.isEmpty() && samples.peekLast().generation() != s.generation()) {
      samples.clear();
    }
    samples.addLast(s);
    if (samples.size() > SAMPLES) {
      samples.removeFirst();
    }
  }

  /** The latest sample of {@code generation} whose offset a replica that acknowledged {@code ack} had reached, or null. */
  private Sample heldAt(long ack, long generation) {
    Sample best = null;
    for (Sample s : samples) {
      if (s.generation() == generation && s.offset() <= ack) {
        best = s;
      }
    }
    return best;
  }

  private Jedis masterConnection(HostAndPort master) {
    if (masterConnection == null || !master.equals(masterConnectionTo) || masterConnection.isBroken()) {
      closeMasterConnection();
      masterConnection = new Jedis(master, checkConfig);
      masterConnectionTo = master;
    }
    return masterConnection;
  }

  private void closeMasterConnection() {
    JedisRoleProbe.closeQuietly(masterConnection);
    masterConnection = null;
    masterConnectionTo = null;
  }

  /**
   * Whether a replica's master is ours: the same address, or the same port at a name that resolves to
   * the same IP (labels name pods by IP, Sentinel may announce their hostnames).
   */
  static boolean sameNode(HostAndPort ours, HostAndPort theirs) {
    if (ours.equals(theirs)) {
      return true;
    }
    if (theirs == null || ours.getPort() != theirs.getPort()) {
      return false;
    }
    try {
      Set<InetAddress> a = new HashSet<>(Arrays.asList(InetAddress.getAllByName(ours.getHost())));
      for (InetAddress b : InetAddress.getAllByName(theirs.getHost())) {
        if (a.contains(b)) {
          return true;
        }
      }
      return false;
    } catch (UnknownHostException e) {
      return false;
    }
  }

  private boolean eligible(Replica r, long generation, long now) {
    Proof p = r.proof;
    return p != null && p.generation == generation && now - p.atNanos <= maxStalenessNanos;
  }

  /**
   * A connection to a proven replica, round robin, or null when none is proven (and {@code required}
   * is false). Replicas whose pool has an idle connection or room for one are tried first, without
   * waiting; only if every proven replica's pool is exhausted does it wait, once, up to the pool's
   * {@code maxWait} (10 s when infinite). A replica that cannot be connected to leaves the read set.
   *
   * @throws JedisConnectionException when {@code required} and no replica is proven (the message says
   *     what each one last answered)
   * @throws JedisException when {@code required} and every proven replica's pool stayed exhausted
   */
  Connection borrow(boolean required) {
    Replica[] candidates = listed;
    int n = candidates.length;
    long generation = discovery.snapshot().generation();
    int start = n == 0 ? 0 : Math.floorMod(next.getAndIncrement(), n);
    Replica busy = null;
    for (int i = 0; i < n; i++) {
      Replica r = candidates[(start + i) % n];
      if (!eligible(r, generation, System.nanoTime())) {
        continue;
      }
      try {
        return r.borrow(Duration.ZERO);
      } catch (NoSuchElementException exhausted) {
        busy = busy == null ? r : busy;
      } catch (Exception e) {
        r.drop("cannot connect for a read: " + Misconfiguration.describeOrFirstLine(e, Misconfiguration.Peer.NODE));
      }
    }
    if (busy != null) {
      try {
        return busy.borrow(maxWait);
      } catch (NoSuchElementException exhausted) {
        if (required) {
          throw new JedisException("no connection to a proven replica within maxWait " + maxWait.toMillis() + " ms: every replica's pool is "
              + "exhausted (maxTotal " + poolConfig.getMaxTotal() + " each)");
        }
        return null;
      } catch (Exception e) {
        busy.drop("cannot connect for a read: " + Misconfiguration.describeOrFirstLine(e, Misconfiguration.Peer.NODE));
      }
    }
    if (required) {
      throw new JedisConnectionException(whyNone());
    }
    return null;
  }

  /**
   * A connection to the proven replica with the lowest round trip, if it is nearer than the master
   * (or there is no master); null to read from the master. Never waits for an exhausted pool.
   */
  Connection borrowNearest() {
    MasterSnapshot s = discovery.snapshot();
    long generation = s.generation();
    boolean masterKnown = s.master().isPresent();
    Replica nearest = null;
    for (Replica r : listed) {
      if (eligible(r, generation, System.nanoTime()) && (nearest == null || r.rttNanos < nearest.rttNanos)) {
        nearest = r;
      }
    }
    if (nearest == null || (masterKnown && nearest.rttNanos >= masterRttNanos)) {
      return null;
    }
    try {
      return nearest.borrow(Duration.ZERO);
    } catch (NoSuchElementException exhausted) {
      return null;
    } catch (Exception e) {
      nearest.drop("cannot connect for a read: " + Misconfiguration.describeOrFirstLine(e, Misconfiguration.Peer.NODE));
      return null;
    }
  }

  /** A moving average of round trips: recent ones weigh 30 %. */
  static long average(long previous, long sample) {
    return previous == Long.MAX_VALUE ? sample : (previous * 7 + sample * 3) / 10;
  }

  /** The replicas that serve reads now. */
  List<HostAndPort> proven() {
    long generation = discovery.snapshot().generation();
    long now = System.nanoTime();
    List<HostAndPort> out = new ArrayList<>();
    for (Replica r : listed) {
      if (eligible(r, generation, now)) {
        out.add(r.address);
      }
    }
    return out;
  }

  /** Why no replica serves reads: what each one last answered (never a secret). */
  String whyNone() {
    StringBuilder b = new StringBuilder("no replica proven within maxStaleness ").append(reads.maxStaleness().toMillis()).append(" ms");
    String problem = lastProblem;
    if (problem != null) {
      b.append(": ").append(problem);
    }
    for (Replica r : listed) {
      b.append("; ").append(r.address).append(": ").append(r.state);
    }
    return b.toString();
  }

  @Override
  public void close() {
    closed = true;
    discovery.removeFollower(this);
    synchronized (this) {
      if (timer != null) {
        timer.cancel(false);
        timer = null;
      }
      closeMasterConnection();
      replicas.values().forEach(Replica::close);
      replicas.clear();
      listed = new Replica[0];
    }
  }

  /** One replica: its read pool, the connection that checks it, its latest proof. */
  private final class Replica {
    final HostAndPort address;
    final ReplicaPool pool;
    final AtomicBoolean busy = new AtomicBoolean();
    volatile Proof proof;
    volatile String state = "not checked yet";
    volatile long rttNanos = Long.MAX_VALUE;
    /** Checks since this replica was last asked directly; the check's lock guards it. */
    int checksSinceDirect;
    private boolean serving;
    private boolean retired;
    private Jedis checker;

    Replica(HostAndPort address) {
      this.address = address;
      this.pool = new ReplicaPool(this, new Factory(address, readConfig), poolConfig);
    }

    /** A pooled connection, waiting at most {@code wait} when the pool is exhausted. */
    Connection borrow(Duration wait) throws Exception {
      Connection c = pool.borrowObject(wait);
      c.setHandlingPool(pool);
      return c;
    }

    /** Asks the replica for its role and offset; runs on the I/O pool, one at a time per replica. */
    void verify(HostAndPort master, long generation, long askedAt, long masterOffset) {
      List<Object> role;
      synchronized (this) {
        if (retired) {
          return; // a check that ran late: this replica left, and no connection is opened for it
        }
        try {
          if (checker == null || checker.isBroken()) {
            JedisRoleProbe.closeQuietly(checker);
            checker = new Jedis(address, checkConfig);
          }
          long sent = System.nanoTime();
          role = checker.role();
          rttNanos = average(rttNanos, System.nanoTime() - sent);
        } catch (RuntimeException e) {
          JedisRoleProbe.closeQuietly(checker);
          checker = null;
          drop(Misconfiguration.describeOrFirstLine(e, Misconfiguration.Peer.NODE));
          return;
        }
      }
      try {
        String kind = JedisRoleProbe.text(role.get(0));
        if (!"slave".equals(kind) && !"replica".equals(kind)) {
          drop("answers ROLE " + kind + ", not replica");
          return;
        }
        HostAndPort announced = new HostAndPort(JedisRoleProbe.text(role.get(1)), Integer.parseInt(JedisRoleProbe.text(role.get(2))));
        HostAndPort itsMaster = translator.translate(announced);
        String link = JedisRoleProbe.text(role.get(3));
        long offset = ((Number) role.get(4)).longValue();
        if (itsMaster == null || !sameNode(master, itsMaster)) {
          drop("replica of " + (itsMaster != null ? itsMaster : announced + " (no address from here)") + ", not of the master " + master);
        } else if (!"connected".equals(link)) {
          drop("link to the master is " + link);
        } else if (offset >= masterOffset) {
          prove(generation, askedAt, "caught up with master " + master);
        } else {
          // The last proof stands until it runs out: its data is at most maxStaleness old.
          state = "behind master " + master + " by " + (masterOffset - offset) + " bytes";
        }
      } catch (RuntimeException e) {
        drop("sent an unreadable ROLE reply: " + JedisRoleProbe.firstLine(e));
        return;
      }
      noteServing(eligible(this, generation, System.nanoTime()));
    }

    /** The master lists this replica as having acknowledged everything it had at {@code atNanos}. */
    void proven(HostAndPort master, long generation, long atNanos, String why) {
      synchronized (this) {
        if (retired) {
          return;
        }
      }
      prove(generation, atNanos, why);
      noteServing(eligible(this, generation, System.nanoTime()));
    }

    private synchronized void prove(long generation, long atNanos, String why) {
      Proof p = proof;
      if (p == null || p.generation < generation || (p.generation == generation && p.atNanos < atNanos)) {
        proof = new Proof(generation, atNanos); // never replaced by a late answer to an older question
      }
      state = why;
    }

    /** Out of the read set until proven again, by asking it directly: the master's view of it is not enough after this. */
    void drop(String why) {
      proof = null;
      rttNanos = Long.MAX_VALUE; // the next check asks it (see check()), so one this pod cannot reach stays out
      state = why;
      noteServing(false);
    }

    /** Logs each change between serving reads and not, with the reason. */
    private synchronized void noteServing(boolean now) {
      if (now != serving) {
        serving = now;
        if (now) {
          log.info("Replica {} serves reads: {}", address, state);
        } else {
          log.info("Replica {} left the read set: {}", address, state);
        }
      }
    }

    void close() {
      proof = null;
      synchronized (this) {
        retired = true;
        JedisRoleProbe.closeQuietly(checker);
        checker = null;
      }
      pool.close();
    }
  }

  /** A Jedis connection pool for one replica; a connection returned broken takes the replica out of the read set. */
  private static final class ReplicaPool extends ConnectionPool {
    private final Replica replica;

    ReplicaPool(Replica replica, Factory factory, GenericObjectPoolConfig<Connection> poolConfig) {
      super(factory, poolConfig);
      this.replica = replica;
    }

    @Override
    public void returnBrokenResource(Connection resource) {
      replica.drop("a read failed on a broken connection");
      super.returnBrokenResource(resource);
    }
  }

  /** Opens, checks and closes connections to one replica. */
  private static final class Factory implements PooledObjectFactory<Connection> {
    private final HostAndPort address;
    private final JedisClientConfig config;

    Factory(HostAndPort address, JedisClientConfig config) {
      this.address = address;
      this.config = config;
    }

    @Override
    public PooledObject<Connection> makeObject() {
      return new DefaultPooledObject<>(new ReplicaConnection(address, config));
    }

    @Override
    public void destroyObject(PooledObject<Connection> p) {
      try {
        p.getObject().disconnect();
      } catch (RuntimeException ignored) {
        // already broken
      }
    }

    @Override
    public boolean validateObject(PooledObject<Connection> p) {
      Connection c = p.getObject();
      try {
        return c.isConnected() && !c.isBroken() && c.ping();
      } catch (RuntimeException e) {
        return false;
      }
    }

    @Override
    public void activateObject(PooledObject<Connection> p) {}

    @Override
    public void passivateObject(PooledObject<Connection> p) {}
  }

  /**
   * A connection to a replica that counts itself broken once the replica refuses a command for its
   * state ({@code LOADING} during a full resync, {@code MASTERDOWN} without its master), so that
   * returning it takes the replica out of the read set, with or without the retrying executor.
   */
  private static final class ReplicaConnection extends Connection {
    ReplicaConnection(HostAndPort address, JedisClientConfig config) {
      super(address, config);
    }

    @Override
    protected Object readProtocolWithCheckingBroken() {
      try {
        return super.readProtocolWithCheckingBroken();
      } catch (JedisDataException e) {
        if (Retrier.refusedUnrun(e)) {
          setBroken();
        }
        throw e;
      }
    }
  }
}
