package io.github.redismasterdiscovery;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.HostAndPort;

/**
 * The evaluation loop of one {@link MasterDiscovery}: what it knows, when it asks the nodes, and
 * what it publishes. Nothing here blocks a thread: probes are asynchronous, timers only hand work on.
 *
 * <h2>Rounds</h2>
 * A round asks {@code ROLE} of the current master and every source's candidates and applies the
 * {@link Decider}. Rounds run one at a time: on any source's change, on {@link #checkNow()} and
 * {@link #doubt()}, every {@code verifyInterval} while the master answers (only the master is asked
 * then, so an idle discovery costs one {@code ROLE} per interval), and every {@code probeInterval}
 * while there is no master or it is silent.
 *
 * <h2>Chases</h2>
 * A candidate a source has just named (a newly labeled pod, the replica Sentinel's leader is
 * promoting, a {@code +switch-master}, a new DNS answer) is asked {@code ROLE} at once and then every
 * 2 ms, slower as time passes, until it answers master or {@code chaseTimeout} passes. When it
 * answers master and its replication history shows it was promoted from the current master, the
 * loop switches at once, without waiting for a slow old master's answer; otherwise a round decides.
 * The chases' own rules live in {@link Chases}.
 *
 * <h2>Suspect, not lost</h2>
 * A master that stops answering within the probe timeout (a stall, not a refused connection) stays
 * the master, marked suspect, while no other node claims master and the Sentinel majority (if any)
 * still names it, until the Sentinels agree it is down ({@code +odown}) or {@code suspectTimeout}
 * passes. The generation changes only when the master's identity changes (address or {@code run_id}),
 * so a master lost and found again is not a failover.
 *
 * <h2>Write fence</h2>
 * When Sentinel's leader announces the replica it is promoting away from the current master, pools
 * stop starting commands on that master (borrowers wait, commands already sent finish) until the
 * new master is proven, the failover aborts, or {@code writeFenceTimeout} passes: Sentinel does not
 * pause the old master, and every write it accepted after the promotion would be lost. The fence's
 * own rules live in {@link WriteFence}.
 *
 * <h2>Failures</h2>
 * Every path (a round's start and finish, health polls, chase steps) catches what it throws, logs it
 * once, ends that round or chase as failed and schedules what comes next: the loop never stops.
 */
final class DiscoveryLoop implements Source.Events, SentinelSource.FailoverSignals {

  private static final Logger log = LoggerFactory.getLogger(MasterDiscovery.class);

  /** Time, timers and threads, injectable so the timing rules are tested without sleeping. */
  interface Env {
    long nanoTime();

    Instant now();

    /** Runs {@code task} after {@code delayNanos} (0: soon) on a thread that may block briefly; returns a handle to cancel it. */
    Cancellable schedule(long delayNanos, Runnable task);

    /** Runs {@code task} on the listener thread, in submission order. */
    void notify(Runnable task);

    /**
     * Runs {@code task} on the followers' thread, in submission order: the pools' reaction to a change
     * (cutting connections that wait on the old master) never waits behind the application's listeners.
     */
    default void notifyFollowers(Runnable task) {
      notify(task);
    }

    /**
     * Randomness for jitter, for the calling thread: call it each time (the default is
     * {@link ThreadLocalRandom#current()}, whose numbers are seeded per thread only once a thread
     * has called it). A fleet of discoveries must not act in lockstep.
     */
    default RandomGenerator random() {
      return ThreadLocalRandom.current();
    }
  }

  /** A scheduled task's handle. */
  interface Cancellable {
    void cancel();
  }

  /** Timing settings, validated by the builder. */
  record Timing(Duration verifyInterval, Duration probeInterval, Duration suspectTimeout, Duration chaseTimeout, boolean writeFence,
      Duration writeFenceTimeout, Duration sentinelRefresh) {}

  /** Observes fences for the pools: how many commands were in flight on the master at that moment. */
  interface FenceObserver {
    int inFlight();

    void fenced(int inFlight);
  }

  private final Timing timing;
  private final Env env;
  private final RoleProbe probe;
  private final List<Source> sources;
  private final SentinelSource sentinel;
  private final Set<HostAndPort> configuredNodes;
  private final List<MasterListener> listeners;
  private final List<MasterListener> followers = new CopyOnWriteArrayList<>();
  private final List<FenceObserver> fenceObservers = new CopyOnWriteArrayList<>();
  private final Object monitor = new Object(); // guards the state below; waiters wait on it
  private final Cache<HostAndPort, Boolean> knownNodes = Caffeine.newBuilder().expireAfterWrite(Duration.ofMinutes(30)).maximumSize(64)
      .executor(Runnable::run).build();

  private volatile MasterSnapshot snapshot;
  private final WriteFence fence;
  private final Chases chases;
  private volatile long roundsCompleted;
  /** When the last round completed with a decision (nanoTime), for {@link #evaluationOverdue()}. */
  private volatile long lastEvaluatedNanos;
  private final AtomicLong verdictDue = new AtomicLong();

  // Guarded by monitor.
  private final Map<SourceKind, SourceState> states = new EnumMap<>(SourceKind.class);
  private final Set<String> lineage = new LinkedHashSet<>();
  /** Replication ids verified masters were promoted away from (their {@code master_replid2}), and when (nanoTime). */
  private final Map<String, Long> superseded = new LinkedHashMap<>();
  /**
   * How long, with no master verified, a node still carrying a superseded replication id is refused:
   * Sentinel demotes an old master at its next {@code INFO} (every 10 s); one that carries it for
   * longer was made master again by someone (a {@code REPLICAOF NO ONE} on a master keeps its id).
   */
  static final Duration SUPERSEDED_WITHOUT_MASTER = Duration.ofSeconds(30);
  private RoleProbe.ReplicationIds currentIds;
  private String currentRunId;
  private String lastKnownRunId;
  private long suspectSinceNanos = -1;
  private HostAndPort reportedDown;
  private Map<HostAndPort, String> answers = Map.of();
  private boolean closed;
  private boolean roundRunning;
  private boolean roundAgain;
  /** Whether what asked for {@link #roundAgain} may skip the back-off. */
  private boolean roundAgainUrgent;
  private long roundsStarted;
  private Cancellable nextTick;
  /** When {@link #nextTick} is due (nanoTime). */
  private long nextTickDueNanos;
  /** When the last round started (nanoTime), and how long the next one waits after it while the loop is not calm. */
  private long lastRoundStartNanos;
  private long unsettledGapNanos;
  /** Rounds in a row that ended with no verified, answering master: the back-off's exponent. */
  private int unsettledRounds;
  private Cancellable healthTick;
  private String conflictText; // the conflict being reported, since conflictSinceNanos
  private long conflictSinceNanos;
  private boolean conflictWarned;
  private long firstSignalNanos;
  private long lastSentinelRefreshNanos;
  private Instant evaluatedAt; // the last round that completed with a decision
  // Failures logged with their stack trace in the last FAILURE_LOG_PERIOD (loop time): a repeating one, or
  // two paths failing in turn, are logged once a period, not at every round.
  private final Cache<String, Boolean> loggedFailures;

  private final AddressTranslator translator;

  DiscoveryLoop(Timing timing, Env env, RoleProbe probe, List<Source> sources, SentinelSource sentinel, Set<HostAndPort> configuredNodes,
      List<MasterListener> listeners, AddressTranslator translator) {
    this.translator = translator;
    this.timing = timing;
    this.env = env;
    this.probe = probe;
    this.sources = sources;
    this.sentinel = sentinel;
    this.configuredNodes = Set.copyOf(configuredNodes);
    this.listeners = listeners;
    this.fence = new WriteFence(timing.writeFence(), timing.writeFenceTimeout());
    this.chases = new Chases(timing.chaseTimeout(), env::random);
    this.loggedFailures = Caffeine.newBuilder().ticker(env::nanoTime).expireAfterWrite(FAILURE_LOG_PERIOD).maximumSize(64).build();
    Instant now = env.now();
    for (Source s : sources) {
      states.put(s.kind(), new SourceState(s.kind(), SourceState.Status.STARTING, "", now));
    }
    if (!configuredNodes.isEmpty()) {
      states.put(SourceKind.NODE_PROBE, new SourceState(SourceKind.NODE_PROBE, SourceState.Status.UP, "nodes " + configuredNodes, now));
    }
    this.snapshot = new MasterSnapshot(null, null, null, 0, null, null, states, null, Map.of(), null);
    this.lastSentinelRefreshNanos = env.nanoTime();
    this.lastEvaluatedNanos = env.nanoTime();
  }

  MasterSnapshot snapshot() {
    return snapshot;
  }

  /** How long a conflict may last before it is logged as a split brain: three of Sentinel's 10 s INFO periods. */
  static final Duration SPLIT_BRAIN_WARNING = Duration.ofSeconds(30);

  /** How often sources' health is read between rounds: fabric8 tells no one when its watch stops. */
  static final Duration HEALTH_INTERVAL = Duration.ofSeconds(1);
  /** How long a failure logged with its stack trace is logged again only at DEBUG. */
  static final Duration FAILURE_LOG_PERIOD = Duration.ofMinutes(1);

  /** Starts the first round and the health polling. */
  void start() {
    synchronized (monitor) {
      healthTick = env.schedule(HEALTH_INTERVAL.toNanos(), this::pollHealth);
    }
    checkNow();
  }

  private void pollHealth() {
    synchronized (monitor) {
      if (closed) {
        return;
      }
      try {
        warnOnLastingConflict(env.nanoTime());
        Map<SourceKind, SourceState> before = new EnumMap<>(states);
        updateSourceStates(env.now());
        if (!before.equals(states)) {
          MasterSnapshot s = snapshot;
          snapshot = new MasterSnapshot(s.master().orElse(null), s.source().orElse(null), s.verifiedAt().orElse(null), s.generation(),
              s.lastKnownMaster().orElse(null), s.conflict().orElse(null), states, s.suspectSince().orElse(null), answers, evaluatedAt);
        }
      } catch (RuntimeException | Error e) {
        failed("reading the sources' health", e);
      } finally {
        healthTick = env.schedule(HEALTH_INTERVAL.toNanos(), this::pollHealth); // whatever happened, the next poll comes
      }
    }
  }

  /**
   * Logs a failure inside the loop: with its stack trace the first time, at DEBUG while the same
   * failure repeats within {@link #FAILURE_LOG_PERIOD}. The caller ends what it was doing as failed; the loop goes on.
   */
  private void failed(String where, Throwable e) {
    boolean repeat = loggedFailures.asMap().putIfAbsent(where + ": " + e, Boolean.TRUE) != null;
    if (repeat) {
      log.debug("Redis master discovery: {} failed again: {}", where, e.toString());
    } else {
      log.error("Redis master discovery: {} failed; the loop goes on (next round within {} ms)", where,
          timing.probeInterval().toMillis() * 5, e); // the longest back-off: 4 x probeInterval, +25 % jitter
    }
  }

  /**
   * True when no round has completed with a decision for longer than rounds are ever apart
   * ({@code 2 × verifyInterval + 10 s}): the loop is not evaluating the master any more, so the
   * snapshot may be stale. The health indicator reports it.
   */
  boolean evaluationOverdue() {
    if (closed) {
      return false;
    }
    long limit = timing.verifyInterval().toNanos() * 2 + Duration.ofSeconds(10).toNanos();
    return env.nanoTime() - lastEvaluatedNanos > limit;
  }

  /** The generation whose connections may send now without waiting or being refused, or -1 while a write fence holds it. */
  long openGeneration() {
    return fence.openGeneration();
  }

  long roundsCompleted() {
    return roundsCompleted;
  }

  /** Adds a pool (or replica set) that follows the master: told of changes before, and apart from, the application's listeners. */
  void addFollower(MasterListener follower) {
    followers.add(follower);
  }

  void removeFollower(MasterListener follower) {
    followers.remove(follower);
  }

  int followerCount() {
    return followers.size();
  }

  void addFenceObserver(FenceObserver o) {
    fenceObservers.add(o);
  }

  void removeFenceObserver(FenceObserver o) {
    fenceObservers.remove(o);
  }

  /** The generation whose master pools must not start commands on, or -1. */
  long fencedGeneration() {
    return fence.fencedGeneration();
  }

  // ---------------------------------------------------------------- signals

  /** A source's news (a label moved, a Sentinel's opinion or link changed): decided at once, back-off or not. */
  @Override
  public void changed() {
    checkNow(true);
  }

  /**
   * Asks for a round now; merged with one already running. While there is no verified, answering
   * master, rounds are spaced by a jittered back-off ({@link #unsettledDelay}) when doubting pools,
   * timers or {@link MasterDiscovery#checkNow()} ask for them, so a fleet whose master died does not
   * probe every node at the rate its writers fail; a source's news, the Sentinels' {@code +odown} and
   * a chased candidate answering master are decided at once.
   */
  void checkNow() {
    checkNow(false);
  }

  private void checkNow(boolean urgent) {
    synchronized (monitor) {
      if (closed) {
        return;
      }
      if (roundRunning) {
        roundAgain = true;
        roundAgainUrgent |= urgent;
        return;
      }
      long now = env.nanoTime();
      long at = lastRoundStartNanos + unsettledGapNanos;
      if (!urgent && unsettledGapNanos > 0 && at - now > 0) {
        if (nextTick == null || nextTickDueNanos - at > 0) {
          scheduleTick(at - now, now);
        }
        return;
      }
      roundRunning = true;
      roundsStarted++;
      lastRoundStartNanos = now;
      if (nextTick != null) {
        nextTick.cancel();
        nextTick = null;
      }
    }
    try {
      startRound();
    } catch (RuntimeException | Error e) { // a source, the Sentinel majority or an application's mapper threw
      finishRound(null, null, e);
    }
  }

  /**
   * A client saw the master misbehave ({@code READONLY}, a refused connect, a broken connection):
   * re-check now, and until a round that started after this call has completed, have borrowers
   * wait for its verdict ({@link #awaitVerdict}) rather than open connections to a node that may no
   * longer be the master.
   */
  void doubt() {
    long due;
    synchronized (monitor) {
      due = roundsStarted + 1; // the next round to start sees whatever made the caller doubt
    }
    verdictDue.accumulateAndGet(due, Math::max);
    checkNow();
  }

  /**
   * Returns once no doubt is pending and no write fence holds the current master, or at the
   * deadline, or when closed. Two volatile reads when there is nothing to wait for.
   */
  void awaitVerdict(long deadlineNanos) {
    if (roundsCompleted >= verdictDue.get() && !fenced()) {
      return;
    }
    synchronized (monitor) {
      while (!closed && (roundsCompleted < verdictDue.get() || fenced())) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
          return;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(monitor, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  private boolean fenced() {
    return fence.holds(snapshot.generation());
  }

  /** Waits for a verified master up to {@code timeoutNanos}; returns it, or null at the timeout or when closed. */
  HostAndPort awaitMaster(long timeoutNanos) throws InterruptedException {
    long deadline = System.nanoTime() + timeoutNanos;
    synchronized (monitor) {
      while (!closed) {
        HostAndPort m = snapshot.master().orElse(null);
        if (m != null) {
          return m;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return null;
        }
        TimeUnit.NANOSECONDS.timedWait(monitor, left);
      }
      return null;
    }
  }

  @Override
  public void proposed(HostAndPort candidate, SourceKind source, String why) {
    Chases.Plan plan;
    synchronized (monitor) {
      if (closed || (candidate.equals(snapshot.master().orElse(null)) && suspectSinceNanos < 0)) {
        return;
      }
      long now = env.nanoTime();
      plan = chases.propose(candidate, source, why, now);
      if (plan == null) {
        return; // being asked, or already due as soon as the budget allows
      }
      markSignal(now);
      Chases.Chase c = plan.chase();
      if (c.next != null) {
        c.next.cancel();
        c.next = null;
      }
      if (plan.delayNanos() > 0) {
        schedule(c, plan.delayNanos(), now);
        return;
      }
    }
    log.debug("chasing {} ({})", candidate, why);
    ask(plan.chase());
  }

  /** Asks {@code c} again after {@code delayNanos}. Caller holds the monitor. */
  private void schedule(Chases.Chase c, long delayNanos, long now) {
    c.nextDueNanos = now + delayNanos;
    c.next = env.schedule(delayNanos, () -> ask(c));
  }

  @Override
  public void promotionStarting(HostAndPort master, HostAndPort candidate) {
    synchronized (monitor) {
      if (closed) {
        return;
      }
      long now = env.nanoTime();
      WriteFence.Fence f = fence.raise(snapshot.master().orElse(null), master, candidate, now);
      if (f == null) {
        return;
      }
      fence.armed(env.schedule(f.deadlineNanos() - now, () -> liftFence(f, "no promotion proven within "
          + timing.writeFenceTimeout().toMillis() + " ms")));
      markSignal(now);
    }
    int inFlight = 0;
    for (FenceObserver o : fenceObservers) {
      int n = o.inFlight();
      inFlight += n;
      o.fenced(n);
    }
    log.info("Redis master {}: write fence up, Sentinel is promoting {}; {} command(s) were in flight", master, candidate, inFlight);
  }

  @Override
  public void promotionAborted(HostAndPort master) {
    WriteFence.Fence f;
    synchronized (monitor) {
      f = fence.abortedFrom(master);
    }
    if (f != null) {
      liftFence(f, "Sentinel aborted the failover");
    }
  }

  @Override
  public void masterDown(HostAndPort master) {
    synchronized (monitor) {
      reportedDown = master;
    }
    checkNow(true);
  }

  private void liftFence(WriteFence.Fence f, String why) {
    synchronized (monitor) {
      if (!fence.lift(f)) {
        return;
      }
      monitor.notifyAll();
    }
    log.warn("Redis master {}: write fence lifted, {}", f.master(), why);
  }

  // ---------------------------------------------------------------- chases

  private void ask(Chases.Chase c) {
    synchronized (monitor) {
      if (closed || !chases.startAsk(c, env.nanoTime())) {
        return;
      }
    }
    try {
      probe.probe(List.of(c.candidate)).thenAccept(r -> answered(c, r.get(c.candidate))).exceptionally(e -> chaseFailed(c, e));
    } catch (RuntimeException | Error e) {
      chaseFailed(c, e);
    }
  }

  /** A chase step threw: that chase ends; a round (which re-weighs every hint) takes over. */
  private Void chaseFailed(Chases.Chase c, Throwable e) {
    synchronized (monitor) {
      chases.failed(c);
    }
    failed("chasing " + c.candidate, e);
    checkNow();
    return null;
  }

  private void answered(Chases.Chase c, NodeRole role) {
    long now = env.nanoTime();
    boolean provable;
    synchronized (monitor) {
      if (closed) {
        return;
      }
      switch (chases.answered(c, role.isMaster(), now)) {
        case STALE:
          return;
        case GIVE_UP:
          log.debug("stopped chasing {}: still {} after {} ms and {} asks", c.candidate, role.describe(), (now - c.startNanos) / 1_000_000,
              c.asks);
          return;
        case ASK_AGAIN:
          schedule(c, chases.nextDelay(c, now), now);
          return;
        default:
          break; // MASTER: stays a hint, so the round below (or a later one) weighs it
      }
      provable = snapshot.master().isPresent() && currentIds != null; // else nothing to prove succession from: a round decides
    }
    if (!provable) {
      checkNow(true); // a candidate answered master and there is no master to prove it against: decide now
      return;
    }
    probe.replicationIds(List.of(c.candidate)).thenAccept(ids -> succeeded(c, role, ids.get(c.candidate))).exceptionally(e -> chaseFailed(c, e));
  }

  /** A chased candidate answered master: switch at once if it was promoted from the current master, else let a round decide. */
  private void succeeded(Chases.Chase c, NodeRole role, RoleProbe.ReplicationIds ids) {
    Publication p = null;
    synchronized (monitor) {
      if (!closed && ids != null && currentIds != null && ids.succeeds(currentIds) && snapshot.master().isPresent()
          && !snapshot.master().get().equals(c.candidate)) {
        p = publish(c.candidate, c.source, role.runId(), null, ids, env.nanoTime());
      }
    }
    if (p != null) {
      p.announce();
    }
    checkNow(p == null); // confirm with a full round (cheap), or decide at once when succession could not be shown
  }

  // ---------------------------------------------------------------- rounds

  private void startRound() {
    Decider.Inputs inputs;
    synchronized (monitor) {
      long now = env.nanoTime();
      updateSourceStates(env.now());
      // Ask the Sentinels again only when one of them names another master than the proven one (a missed announcement):
      // at rest, a fleet opens no connection to them.
      if (sentinel != null && now - lastSentinelRefreshNanos >= timing.sentinelRefresh().toNanos()
          && sentinel.disagreesWith(snapshot.master().orElse(null))) {
        lastSentinelRefreshNanos = now;
        sentinel.refresh();
      }
      Map<HostAndPort, SourceKind> hints = new LinkedHashMap<>();
      for (Source s : sources) {
        for (HostAndPort c : s.candidates()) {
          hints.putIfAbsent(c, s.kind());
        }
      }
      chases.addHints(hints, now);
      MasterSnapshot s = snapshot;
      HostAndPort current = s.master().orElse(null);
      if (current != null && !translator.stillValid(current) && !configuredNodes.contains(current) && !hints.containsKey(current)) {
        current = null; // its load balancer moved: find the master again at its new address (a new generation; pools reconnect)
      }
      Set<HostAndPort> known = new LinkedHashSet<>(knownNodes.asMap().keySet());
      known.removeIf(n -> !translator.stillValid(n)); // an address no Service gives out any more is never contacted again
      inputs = new Decider.Inputs(current, s.source().orElse(null), hints, sentinel == null ? null : sentinel.majority(),
          known, configuredNodes, Set.copyOf(lineage), supersededNow(current, now));
    }
    Decider.decide(inputs, probe).whenComplete((d, error) -> finishRound(inputs, d, error));
  }

  /** The instant a round's decision is applied: every snapshot made from it carries it. Caller holds the monitor. */
  private Instant evaluated() {
    evaluatedAt = env.now();
    return evaluatedAt;
  }

  /**
   * Ends a round, whatever happened in it: a decision is applied; a failure (thrown while starting
   * the round, by the probes, or while applying the decision) ends the round as failed, logged once.
   * Either way the round counts as over and the next one is scheduled, so the loop never stops.
   */
  private void finishRound(Decider.Inputs in, Decider.Decision d, Throwable error) {
    Publication p = null;
    boolean again;
    boolean urgentAgain;
    synchronized (monitor) {
      if (closed) {
        roundRunning = false;
        return; // a round that ends during close publishes nothing
      }
      long now = env.nanoTime();
      try {
        if (error == null) {
          p = apply(in, d, now);
          lastEvaluatedNanos = now;
        }
      } catch (RuntimeException | Error e) {
        error = e;
      } finally {
        roundsCompleted++;
        roundRunning = false;
        again = roundAgain;
        urgentAgain = roundAgainUrgent;
        roundAgain = false;
        roundAgainUrgent = false;
        monitor.notifyAll();
        boolean calm = error == null && snapshot.master().isPresent() && suspectSinceNanos < 0;
        unsettledRounds = calm ? 0 : unsettledRounds + 1;
        unsettledGapNanos = calm ? 0 : unsettledDelay(unsettledRounds);
        if (!again) {
          scheduleTick(calm ? jittered(timing.verifyInterval().toNanos(), 0.2) : unsettledGapNanos, now);
        }
      }
    }
    if (error != null) {
      failed("an evaluation round", error);
    }
    if (p != null) {
      p.announce();
    }
    if (again) {
      checkNow(urgentAgain);
    }
  }

  /** Applies a round's decision; returns what to announce outside the lock, or null. Caller holds the monitor. */
  private Publication apply(Decider.Inputs in, Decider.Decision d, long now) {
    evaluated();
    remember(d);
    answers = describe(d.roles());
    HostAndPort current = in.current();
    HostAndPort chosen = d.master();
    SourceKind source = d.source();
    String runId = chosen == null ? null : d.roles().get(chosen).runId();
    if (chosen == null && current != null && keepAsSuspect(current, d.roles().get(current), d, now)) {
      if (suspectSinceNanos < 0) {
        suspectSinceNanos = now;
        log.warn("Redis master {} is not answering ({}); still using it while no other node claims master", current,
            d.roles().get(current).describe());
      }
      return republish(d.conflict(), now);
    }
    if (chosen != null && chosen.equals(current) && suspectSinceNanos >= 0) {
      log.info("Redis master {} answers again after {} ms", current, (now - suspectSinceNanos) / 1_000_000);
    }
    if (chosen == null && current != null && suspectSinceNanos >= 0) {
      log.warn("Redis master {} silent for {} ms{}: no master", current, (now - suspectSinceNanos) / 1_000_000,
          current.equals(reportedDown) ? " and the Sentinels agree it is down" : "");
    }
    suspectSinceNanos = -1;
    if (chosen != null && chosen.equals(current)) {
      return republishVerified(source, d.conflict(), now);
    }
    RoleProbe.ReplicationIds ids = chosen == null ? null : d.ids().get(chosen);
    return publish(chosen, source, runId, d.conflict(), ids, now, d);
  }

  private boolean keepAsSuspect(HostAndPort current, NodeRole role, Decider.Decision d, long now) {
    if (role == null || role.kind() != NodeRole.Kind.SILENT || current.equals(reportedDown)) {
      return false;
    }
    HostAndPort majority = sentinel == null ? null : sentinel.majority();
    RoleProbe.ReplicationIds majorityIds = majority == null ? null : d.ids().get(majority);
    boolean majorityIsPredecessor = majorityIds != null && superseded.containsKey(majorityIds.replid()); // Sentinels not caught up yet
    if (majority != null && !majority.equals(current) && !majorityIsPredecessor) {
      return false;
    }
    return suspectSinceNanos < 0 || now - suspectSinceNanos < timing.suspectTimeout().toNanos();
  }

  /** The same master (or the suspect one), freshly checked: no change to announce. */
  private Publication republish(String conflict, long now) {
    MasterSnapshot s = snapshot;
    snapshot = new MasterSnapshot(s.master().orElse(null), s.source().orElse(null), s.verifiedAt().orElse(null), s.generation(),
        s.lastKnownMaster().orElse(null), conflict, states, suspectSince(now), answers, evaluatedAt);
    noteConflict(conflict, now);
    return null;
  }

  private Publication republishVerified(SourceKind source, String conflict, long now) {
    MasterSnapshot s = snapshot;
    snapshot = new MasterSnapshot(s.master().orElse(null), s.source().orElse(source), env.now(), s.generation(),
        s.lastKnownMaster().orElse(null), conflict, states, null, answers, evaluatedAt);
    noteConflict(conflict, now);
    firstSignalNanos = 0;
    return null;
  }

  private Publication publish(HostAndPort master, SourceKind source, String runId, String conflict, RoleProbe.ReplicationIds ids, long now) {
    return publish(master, source, runId, conflict, ids, now, null);
  }

  /**
   * Publishes a new master (or none). The generation moves on only when the master's identity
   * changes: another address, or the same address served by another process ({@code run_id}).
   */
  private Publication publish(HostAndPort master, SourceKind source, String runId, String conflict, RoleProbe.ReplicationIds ids,
      long now, Decider.Decision d) {
    MasterSnapshot before = snapshot;
    HostAndPort lastKnown = before.lastKnownMaster().orElse(null);
    long generation = before.generation();
    if (master != null) {
      boolean sameIdentity = master.equals(lastKnown) && (runId == null || lastKnownRunId == null || runId.equals(lastKnownRunId));
      if (!sameIdentity) {
        generation++;
        currentIds = ids;
        if (ids == null) {
          fetchLineage(master, generation);
        }
      }
      if (ids != null) {
        remember(ids);
      }
      currentRunId = runId;
      lastKnownRunId = runId;
      lastKnown = master;
      chases.adopted(master);
    } else {
      currentRunId = null;
    }
    if (!Objects.equals(before.master().orElse(null), master)) {
      suspectSinceNanos = -1; // the suspicion was about the master being replaced (a chase may switch while it is suspect)
    }
    MasterSnapshot after = new MasterSnapshot(master, source, master == null ? null : env.now(), generation, lastKnown, conflict, states,
        null, answers, evaluatedAt);
    snapshot = after;
    fence.published(generation); // a fence on the old generation has done its work
    noteConflict(conflict, now);
    monitor.notifyAll();
    long sinceSignalMs = firstSignalNanos == 0 ? 0 : (now - firstSignalNanos) / 1_000_000;
    firstSignalNanos = 0;
    String lostDetail = master == null && d != null ? describeRoles(d) : null;
    if (!Objects.equals(before.master().orElse(null), master) && !followers.isEmpty()) {
      env.notifyFollowers(() -> tell(followers, before, after)); // queued under the lock: in the order the changes happened
    }
    if (!Objects.equals(before.master().orElse(null), master) && !listeners.isEmpty()) {
      env.notify(() -> tell(listeners, before, after)); // queued under the lock, so listeners hear changes in the order they happened
    }
    return new Publication(before, after, sinceSignalMs, lostDetail);
  }

  private static void tell(List<MasterListener> listeners, MasterSnapshot before, MasterSnapshot after) {
    for (MasterListener l : listeners) {
      try {
        l.onMasterChange(before, after);
      } catch (RuntimeException e) {
        log.error("MasterListener {} threw; ignored", l, e);
      }
    }
  }

  /** Asks a newly adopted master for its replication id, the lineage its successors will be proven against. */
  private void fetchLineage(HostAndPort master, long generation) {
    probe.replicationIds(List.of(master)).thenAccept(ids -> {
      RoleProbe.ReplicationIds mine = ids.get(master);
      if (mine == null) {
        return;
      }
      synchronized (monitor) {
        if (snapshot.generation() == generation) {
          currentIds = mine;
          remember(mine);
        }
      }
    }).exceptionally(e -> {
      failed("asking " + master + " for its replication id", e);
      return null;
    });
  }

  /** Keeps a verified master's replication ids: its own for the lineage, the one it was promoted from as superseded. Caller holds the monitor. */
  private void remember(RoleProbe.ReplicationIds ids) {
    lineage.add(ids.replid());
    if (ids.replid2() != null && !ids.replid2().equals(RoleProbe.ReplicationIds.NONE)) {
      superseded.putIfAbsent(ids.replid2(), env.nanoTime());
    }
    superseded.remove(ids.replid()); // promoted again since: its id is current, not superseded
    trim(lineage);
    trim(superseded.keySet());
  }

  /**
   * The superseded ids a round refuses claimants by: all of them while a master is followed (it may
   * stall, its predecessor may not be demoted yet); with none, only those superseded within
   * {@link #SUPERSEDED_WITHOUT_MASTER}. Caller holds the monitor.
   */
  private Set<String> supersededNow(HostAndPort current, long now) {
    Set<String> out = new LinkedHashSet<>();
    superseded.forEach((id, at) -> {
      if (current != null || now - at < SUPERSEDED_WITHOUT_MASTER.toNanos()) {
        out.add(id);
      }
    });
    return out;
  }

  private static void trim(Set<String> ids) {
    while (ids.size() > 16) {
      ids.remove(ids.iterator().next());
    }
  }

  private Instant suspectSince(long now) {
    return suspectSinceNanos < 0 ? null : env.now().minusNanos(now - suspectSinceNanos);
  }

  /**
   * Logs a conflict: at INFO when it appears, for an old master answering "master" until Sentinel
   * demotes it is part of every planned failover (Sentinel reconfigures it within seconds, or up to
   * its 10 s INFO period after a restart); at WARN once it has lasted {@link #SPLIT_BRAIN_WARNING}.
   */
  private void noteConflict(String conflict, long now) {
    if (Objects.equals(conflict, conflictText)) {
      return;
    }
    if (conflict == null) {
      if (conflictWarned) {
        log.info("Redis split brain over after {} s: {}", (now - conflictSinceNanos) / 1_000_000_000, conflictText);
      }
    } else {
      log.info("Redis master conflict (normal while Sentinel demotes an old master; a warning follows if it lasts {} s): {}",
          SPLIT_BRAIN_WARNING.toSeconds(), conflict);
      conflictSinceNanos = now;
    }
    conflictText = conflict;
    conflictWarned = false;
  }

  /** Called every health tick: a conflict that has lasted too long is a split brain to act on. */
  private void warnOnLastingConflict(long now) {
    if (conflictText != null && !conflictWarned && now - conflictSinceNanos >= SPLIT_BRAIN_WARNING.toNanos()) {
      conflictWarned = true;
      log.warn("Redis split brain for {} s: {}. Writes go to the proven master only, but other clients may write to the other node: "
          + "check the Sentinels (SENTINEL REPLICAS) and that node's role", (now - conflictSinceNanos) / 1_000_000_000, conflictText);
    }
  }

  /** Schedules the next round. Caller holds the monitor. */
  private void scheduleTick(long delayNanos, long now) {
    if (nextTick != null) {
      nextTick.cancel();
    }
    nextTickDueNanos = now + delayNanos;
    nextTick = env.schedule(delayNanos, this::checkNow);
  }

  /**
   * The spacing of rounds while there is no verified, answering master: {@code probeInterval}, then
   * twice and four times it, jittered by a quarter either way so that a fleet's rounds spread out.
   */
  private long unsettledDelay(int rounds) {
    long base = timing.probeInterval().toNanos() << Math.min(Math.max(rounds - 1, 0), 2);
    return jittered(base, 0.5);
  }

  /** {@code nanos} spread uniformly over a window {@code width} wide around it (0.5: from 75% to 125%). */
  private long jittered(long nanos, double width) {
    return (long) (nanos * (1 - width / 2 + width * env.random().nextDouble()));
  }

  private void markSignal(long now) {
    if (firstSignalNanos == 0) {
      firstSignalNanos = now;
    }
  }

  /** A change to log once the lock is released (listeners were queued under it). */
  private static final class Publication {
    final MasterSnapshot before;
    final MasterSnapshot after;
    final long sinceSignalMs;
    final String lostDetail;

    Publication(MasterSnapshot before, MasterSnapshot after, long sinceSignalMs, String lostDetail) {
      this.before = before;
      this.after = after;
      this.sinceSignalMs = sinceSignalMs;
      this.lostDetail = lostDetail;
    }

    void announce() {
      HostAndPort was = before.master().orElse(null);
      HostAndPort now = after.master().orElse(null);
      if (Objects.equals(was, now)) {
        return;
      }
      if (now != null) {
        log.info("Redis master {} -> {} (source {}, {} ms after the first signal{})", was == null ? "none" : was, now,
            after.source().orElse(null), sinceSignalMs, after.generation() == before.generation() ? ", same server as before" : "");
      } else {
        log.warn("Redis master {} lost and no node answers ROLE master: {}", was, lostDetail);
      }
    }
  }

  private void remember(Decider.Decision d) {
    for (Map.Entry<HostAndPort, NodeRole> e : d.roles().entrySet()) {
      NodeRole.Kind k = e.getValue().kind();
      if (k == NodeRole.Kind.MASTER || k == NodeRole.Kind.REPLICA) {
        knownNodes.put(e.getKey(), Boolean.TRUE);
      }
    }
    d.learned().forEach(n -> knownNodes.put(n, Boolean.TRUE));
  }

  private static Map<HostAndPort, String> describe(Map<HostAndPort, NodeRole> roles) {
    Map<HostAndPort, String> out = new LinkedHashMap<>();
    roles.forEach((a, r) -> out.put(a, r.describe()));
    return out;
  }

  private static String describeRoles(Decider.Decision d) {
    List<String> parts = new ArrayList<>();
    d.roles().forEach((a, r) -> parts.add(NodeRole.line(a, r.describe())));
    return parts.isEmpty() ? "no candidates" : String.join(", ", parts);
  }

  private void updateSourceStates(Instant now) {
    for (Source s : sources) {
      Source.Health h = s.health();
      SourceState before = states.get(s.kind());
      SourceState after = before.with(h.status(), h.detail(), now);
      if (after.status() != before.status()) {
        if (after.status() == SourceState.Status.UP) {
          if (before.status() == SourceState.Status.STARTING) {
            log.info("{} source is up", s.kind());
          } else {
            log.info("{} source is back up (was {}: {})", s.kind(), before.status(), before.detail());
          }
        } else if (after.status() != SourceState.Status.STARTING) {
          log.warn("{} source is {}: {}", s.kind(), after.status(), after.detail());
        }
      }
      states.put(s.kind(), after);
    }
  }

  /** Stops every timer and chase; nothing is published afterwards. */
  void close() {
    List<Cancellable> timers = new ArrayList<>();
    synchronized (monitor) {
      closed = true;
      if (nextTick != null) {
        timers.add(nextTick);
      }
      if (healthTick != null) {
        timers.add(healthTick);
      }
      timers.addAll(chases.clear());
      snapshot = snapshot.closed(env.now());
      fence.close(snapshot.generation()); // cancels its timer
      monitor.notifyAll();
    }
    timers.forEach(Cancellable::cancel);
  }

  boolean isClosed() {
    synchronized (monitor) {
      return closed;
    }
  }

  /** Nodes the loop would probe when nothing names a master (for tests). */
  Collection<HostAndPort> knownNodes() {
    return List.copyOf(knownNodes.asMap().keySet());
  }
}
