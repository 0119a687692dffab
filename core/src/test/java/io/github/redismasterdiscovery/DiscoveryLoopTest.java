package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.HostAndPort;

/**
 * The loop's timing rules on a hand-driven clock with scripted ROLE answers: stalls, suspicion and
 * its bounds, identity-based generations, chases, the write fence, quiet verification, and a quiet
 * close. Nothing sleeps; time moves only when a test says so.
 */
class DiscoveryLoopTest {

  static final HostAndPort A = new HostAndPort("10.0.0.1", 6379);
  static final HostAndPort B = new HostAndPort("10.0.0.2", 6379);
  static final String NONE = "0000000000000000000000000000000000000000";

  /** A clock and a timer queue that run only when {@link #advance} says so. */
  static final class ManualEnv implements DiscoveryLoop.Env {
    private record Task(long due, long seq, Runnable run, boolean[] cancelled) {}

    long nanos = 1_000_000_000L;
    private long seq;
    private final PriorityQueue<Task> tasks = new PriorityQueue<>((x, y) -> x.due != y.due ? Long.compare(x.due, y.due) : Long.compare(x.seq, y.seq));

    @Override
    public long nanoTime() {
      return nanos;
    }

    @Override
    public Instant now() {
      return Instant.EPOCH.plusNanos(nanos);
    }

    @Override
    public synchronized DiscoveryLoop.Cancellable schedule(long delayNanos, Runnable task) {
      boolean[] cancelled = {false};
      tasks.add(new Task(nanos + Math.max(0, delayNanos), seq++, task, cancelled));
      return () -> cancelled[0] = true;
    }

    @Override
    public void notify(Runnable task) {
      task.run();
    }

    @Override
    public java.util.random.RandomGenerator random() {
      return ChasesTest.MIDDLE; // jitter at the middle of its window: delays are exact
    }

    /** Moves the clock forward, running every task that falls due on the way, in order. */
    void advance(Duration d) {
      long end = nanos + d.toNanos();
      while (true) {
        Task next;
        synchronized (this) {
          next = tasks.peek();
          if (next == null || next.due > end) {
            break;
          }
          tasks.poll();
          nanos = Math.max(nanos, next.due);
        }
        if (!next.cancelled[0]) {
          next.run.run();
        }
      }
      nanos = end;
    }
  }

  /** Answers from a table that tests change; counts what was asked. */
  static final class ScriptedProbe implements RoleProbe {
    final Map<HostAndPort, NodeRole> roles = new HashMap<>();
    final Map<HostAndPort, ReplicationIds> ids = new HashMap<>();
    final Map<HostAndPort, Integer> asked = new HashMap<>();
    final List<CompletableFuture<Map<HostAndPort, NodeRole>>> held = new ArrayList<>();
    boolean hold;
    int throwProbes; // how many more probe() calls throw at once
    int failReplicationIds; // how many more replicationIds() calls complete exceptionally

    @Override
    public synchronized CompletableFuture<Map<HostAndPort, NodeRole>> probe(Collection<HostAndPort> nodes) {
      if (throwProbes > 0) {
        throwProbes--;
        throw new IllegalStateException("probe() failed once");
      }
      Map<HostAndPort, NodeRole> out = new LinkedHashMap<>();
      for (HostAndPort n : nodes) {
        asked.merge(n, 1, Integer::sum);
        out.put(n, roles.getOrDefault(n, NodeRole.unreachable(n + ": connection refused")));
      }
      if (hold) { // answered when the test completes the held future
        CompletableFuture<Map<HostAndPort, NodeRole>> later = new CompletableFuture<>();
        held.add(later);
        return later.thenApply(x -> out);
      }
      return CompletableFuture.completedFuture(out);
    }

    @Override
    public synchronized CompletableFuture<Map<HostAndPort, ReplicationIds>> replicationIds(Collection<HostAndPort> nodes) {
      if (failReplicationIds > 0) {
        failReplicationIds--;
        return CompletableFuture.failedFuture(new IllegalStateException("replicationIds() failed once"));
      }
      Map<HostAndPort, ReplicationIds> out = new HashMap<>();
      nodes.stream().filter(ids::containsKey).forEach(n -> out.put(n, ids.get(n)));
      return CompletableFuture.completedFuture(out);
    }

    int asked(HostAndPort n) {
      return asked.getOrDefault(n, 0);
    }

    @Override
    public void close() {}
  }

  /** A source whose candidates the test sets. */
  static final class FixedSource implements Source {
    volatile List<HostAndPort> candidates = List.of();
    volatile int throwCandidates; // how many more calls of candidates() throw
    volatile int throwHealth; // how many more calls of health() throw

    @Override
    public SourceKind kind() {
      return SourceKind.KUBERNETES;
    }

    @Override
    public void start() {}

    @Override
    public List<HostAndPort> candidates() {
      if (throwCandidates > 0) {
        throwCandidates--;
        throw new IllegalStateException("candidates() failed once");
      }
      return candidates;
    }

    @Override
    public Health health() {
      if (throwHealth > 0) {
        throwHealth--;
        throw new IllegalStateException("health() failed once");
      }
      return Health.up();
    }

    @Override
    public void close() {}
  }

  final ManualEnv env = new ManualEnv();
  final ScriptedProbe probe = new ScriptedProbe();
  final FixedSource labels = new FixedSource();
  final List<MasterSnapshot[]> changes = new CopyOnWriteArrayList<>();
  final DiscoveryLoop.Timing timing = new DiscoveryLoop.Timing(Duration.ofSeconds(5), Duration.ofMillis(100), Duration.ofSeconds(5),
      Duration.ofSeconds(10), true, Duration.ofSeconds(5), Duration.ofSeconds(30));
  DiscoveryLoop loop;
  /** What the loop logged after the set-up (logger of MasterDiscovery). */
  final ListAppender<ILoggingEvent> logs = new ListAppender<>();

  @BeforeEach
  void aVerifiedMasterA() {
    probe.roles.put(A, NodeRole.master(List.of(B)).withRunId("run-a"));
    probe.roles.put(B, NodeRole.replicaOf(A).withRunId("run-b"));
    probe.ids.put(A, new RoleProbe.ReplicationIds("aaaa", NONE));
    probe.ids.put(B, new RoleProbe.ReplicationIds("aaaa", NONE));
    labels.candidates = List.of(A);
    loop = new DiscoveryLoop(timing, env, probe, List.of(labels), null, Set.of(), List.of((before, after) -> changes.add(new MasterSnapshot[] {before, after})),
        AddressTranslator.IN_CLUSTER);
    loop.start();
    assertThat(loop.snapshot().master()).contains(A);
    assertThat(loop.snapshot().generation()).isEqualTo(1);
    changes.clear();
    logs.start();
    discoveryLogger().addAppender(logs);
  }

  @AfterEach
  void releaseLogs() {
    discoveryLogger().detachAppender(logs);
  }

  private static Logger discoveryLogger() {
    return (Logger) LoggerFactory.getLogger(MasterDiscovery.class);
  }

  @Test
  void aStalledMasterStaysTheMasterAsSuspectAndComesBackWithoutAFailover() {
    probe.roles.put(A, NodeRole.silent(A + ": no ROLE reply within 500 ms"));
    env.advance(Duration.ofSeconds(5)); // the verify tick
    MasterSnapshot s = loop.snapshot();
    assertThat(s.master()).contains(A);
    assertThat(s.suspectSince()).isPresent();
    assertThat(s.describe()).contains("not answering since").contains("no ROLE reply within 500 ms");
    env.advance(Duration.ofSeconds(2)); // probed every 100, 200, then 400 ms meanwhile
    probe.roles.put(A, NodeRole.master(List.of(B)).withRunId("run-a"));
    env.advance(Duration.ofMillis(400));
    assertThat(loop.snapshot().master()).contains(A);
    assertThat(loop.snapshot().suspectSince()).isEmpty();
    assertThat(loop.snapshot().generation()).isEqualTo(1);
    assertThat(changes).as("no listener hears of a stall").isEmpty();
  }

  @Test
  void suspicionEndsAfterSuspectTimeoutAndTheSameServerComingBackIsNotAFailover() {
    probe.roles.put(A, NodeRole.silent("no reply"));
    env.advance(Duration.ofSeconds(5));
    env.advance(Duration.ofMillis(4_900));
    assertThat(loop.snapshot().master()).as("still within suspectTimeout").contains(A);
    env.advance(Duration.ofMillis(500)); // the first round after suspectTimeout: rounds are 400 ms apart by now
    assertThat(loop.snapshot().master()).isEmpty();
    assertThat(loop.snapshot().generation()).isEqualTo(1);
    probe.roles.put(A, NodeRole.master(List.of(B)).withRunId("run-a"));
    env.advance(Duration.ofMillis(400));
    assertThat(loop.snapshot().master()).contains(A);
    assertThat(loop.snapshot().generation()).as("same address, same run_id: same generation").isEqualTo(1);
    assertThat(changes).hasSize(2);
    assertThat(changes.get(1)[1].generation()).isEqualTo(changes.get(1)[0].generation());
  }

  @Test
  void aRefusedConnectionIsNoStallTheMasterIsGoneAtOnce() {
    probe.roles.put(A, NodeRole.unreachable(A + ": cannot connect (Connection refused)"));
    probe.roles.put(B, NodeRole.replicaOf(A));
    loop.checkNow();
    assertThat(loop.snapshot().master()).isEmpty();
    assertThat(loop.snapshot().describe()).contains("Connection refused");
  }

  @Test
  void theSentinelsAgreeingTheMasterIsDownEndSuspicion() {
    probe.roles.put(A, NodeRole.silent("no reply"));
    env.advance(Duration.ofSeconds(5));
    assertThat(loop.snapshot().suspectSince()).isPresent();
    loop.masterDown(A);
    assertThat(loop.snapshot().master()).isEmpty();
  }

  @Test
  void theSameAddressServedByARestartedProcessIsANewGeneration() {
    probe.roles.put(A, NodeRole.master(List.of()).withRunId("run-a2"));
    env.advance(Duration.ofSeconds(5));
    assertThat(loop.snapshot().generation()).isEqualTo(1); // same address, same master: the run id is checked on a switch
    probe.roles.put(A, NodeRole.unreachable("refused"));
    loop.checkNow();
    probe.roles.put(A, NodeRole.master(List.of()).withRunId("run-a2"));
    loop.checkNow(); // no master: the round comes after the back-off
    env.advance(Duration.ofMillis(100));
    assertThat(loop.snapshot().master()).contains(A);
    assertThat(loop.snapshot().generation()).as("restarted process behind the same address").isEqualTo(2);
  }

  @Test
  void aChasedCandidatePromotedFromTheMasterIsFollowedAtOnceEvenWhileTheOldMasterIsSilent() {
    probe.roles.put(A, NodeRole.silent("no reply"));
    loop.proposed(B, SourceKind.SENTINEL, "+selected-slave");
    assertThat(probe.asked(B)).isEqualTo(1);
    env.advance(Duration.ofMillis(100));
    assertThat(probe.asked(B)).as("asked at once and followed up once, not in a tight loop").isEqualTo(2);
    probe.roles.put(B, NodeRole.master(List.of()).withRunId("run-b"));
    probe.ids.put(B, new RoleProbe.ReplicationIds("bbbb", "aaaa")); // promoted from A
    loop.proposed(B, SourceKind.SENTINEL, "+failover-state-wait-promotion"); // the leader sends REPLICAOF NO ONE: ask now
    assertThat(probe.asked(B)).as("the signal's ask, then the round that confirms the switch").isEqualTo(4);
    assertThat(loop.snapshot().master()).contains(B);
    assertThat(loop.snapshot().source()).contains(SourceKind.SENTINEL);
    assertThat(loop.snapshot().generation()).isEqualTo(2);
    assertThat(changes).hasSize(1);
  }

  @Test
  void anOldMasterAnsweringMasterAfterItsSuccessorIsAnInfoAndAWarningOnlyWhenItLasts() {
    probe.roles.put(B, NodeRole.master(List.of()).withRunId("run-b"));
    probe.ids.put(B, new RoleProbe.ReplicationIds("bbbb", "aaaa")); // promoted from A, which still answers master
    loop.proposed(B, SourceKind.SENTINEL, "+selected-slave");
    env.advance(Duration.ofMillis(2));
    assertThat(loop.snapshot().master()).contains(B);
    assertThat(loop.snapshot().conflict()).hasValueSatisfying(c -> assertThat(c).contains(A.toString()));
    env.advance(DiscoveryLoop.SPLIT_BRAIN_WARNING.minusSeconds(2));
    assertThat(levels(logs, "conflict")).as("a planned failover's old master, until Sentinel demotes it").containsExactly(Level.INFO);
    assertThat(levels(logs, "split brain")).isEmpty();
    env.advance(Duration.ofSeconds(3));
    assertThat(levels(logs, "split brain")).as("lasting: warned once").containsExactly(Level.WARN);
    env.advance(Duration.ofSeconds(30));
    assertThat(levels(logs, "split brain")).containsExactly(Level.WARN);
    probe.roles.put(A, NodeRole.replicaOf(B).withRunId("run-a"));
    env.advance(Duration.ofSeconds(5));
    assertThat(loop.snapshot().conflict()).isEmpty();
    assertThat(levels(logs, "split brain")).containsExactly(Level.WARN, Level.INFO);
  }

  private static List<Level> levels(ListAppender<ILoggingEvent> logs, String text) {
    return logs.list.stream().filter(e -> e.getFormattedMessage().contains(text)).map(ILoggingEvent::getLevel).toList();
  }

  @Test
  void aChaseSlowsDownAndEndsAtItsDeadline() {
    loop.proposed(B, SourceKind.KUBERNETES, "pod labeled");
    env.advance(Duration.ofSeconds(1));
    assertThat(probe.asked(B)).as("the first second, when a whole fleet chases the same node").isLessThanOrEqualTo(Chases.BUDGET);
    env.advance(Duration.ofSeconds(10));
    int asked = probe.asked(B);
    // at once, 3 ms later, every 250 ms until 2 s, every 1 s until 10 s: 2 + 8 + 8, and the verify rounds at 5 and 10 s,
    // which ask every candidate still chased: 20 in all, where a 2 ms loop sent about 290
    assertThat(asked).isBetween(17, 21);
    env.advance(Duration.ofSeconds(10));
    assertThat(probe.asked(B)).as("no more asking after the deadline").isEqualTo(asked);
    assertThat(loop.snapshot().master()).contains(A);
  }

  /**
   * Found under load (rmd-lettuce's Spring failover test at load 85): the promoted master stalled
   * while forking for a replica's resync, its predecessor (not yet demoted by Sentinel) still answered
   * master and a source still named it, and the discovery went back to it for 0.6 s: 58 acknowledged
   * writes lost. The predecessor's replication id is the one the stalled master was promoted from.
   */
  @Test
  void aPromotedMasterThatStallsIsNotTradedBackForThePredecessorItWasPromotedFrom() {
    probe.roles.put(B, NodeRole.master(List.of()).withRunId("run-b"));
    probe.ids.put(B, new RoleProbe.ReplicationIds("bbbb", "aaaa")); // promoted from A
    loop.proposed(B, SourceKind.SENTINEL, "+failover-state-wait-promotion");
    assertThat(loop.snapshot().master()).contains(B);
    changes.clear();
    probe.roles.put(B, NodeRole.silent(B + ": no ROLE reply within 500 ms")); // forking for a resync
    // A still answers master (Sentinel demotes it seconds later) and the label has not moved yet
    loop.checkNow();
    env.advance(Duration.ofSeconds(2));
    assertThat(loop.snapshot().master()).as("the stalled successor, as suspect, never its predecessor").contains(B);
    assertThat(loop.snapshot().suspectSince()).isPresent();
    assertThat(loop.snapshot().conflict()).hasValueSatisfying(c -> assertThat(c).contains(A.toString()).contains("promoted from"));
    probe.roles.put(B, NodeRole.master(List.of()).withRunId("run-b"));
    env.advance(Duration.ofMillis(500));
    assertThat(loop.snapshot().suspectSince()).isEmpty();
    assertThat(changes).as("no switch back and forth").isEmpty();
  }

  @Test
  void aPromotedMasterThatDiesLeavesNoMasterRatherThanItsUndemotedPredecessorForAWhile() {
    probe.roles.put(B, NodeRole.master(List.of()).withRunId("run-b"));
    probe.ids.put(B, new RoleProbe.ReplicationIds("bbbb", "aaaa")); // promoted from A
    loop.proposed(B, SourceKind.SENTINEL, "+failover-state-wait-promotion");
    assertThat(loop.snapshot().master()).contains(B);
    probe.roles.put(B, NodeRole.unreachable(B + ": cannot connect (Connection refused)")); // killed right after the failover
    loop.checkNow();
    env.advance(Duration.ofSeconds(20));
    assertThat(loop.snapshot().master()).as("A still carries the id B was promoted away from: Sentinel may demote it any time")
        .isEmpty();
    env.advance(DiscoveryLoop.SUPERSEDED_WITHOUT_MASTER);
    assertThat(loop.snapshot().master()).as("a master that long with that id was made master again on purpose").contains(A);
  }

  @Test
  void poolsDoubtingADeadMasterAtTheirWritersRateDoNotProbeAtThatRate() {
    probe.roles.put(A, NodeRole.unreachable(A + ": cannot connect (Connection refused)"));
    probe.roles.put(B, NodeRole.replicaOf(A));
    int before = probe.asked(B);
    for (int i = 0; i < 1_000; i++) { // a writer failing every 2 ms for 2 s, doubting each time
      loop.doubt();
      env.advance(Duration.ofMillis(2));
    }
    // rounds 100, 200, then 400 ms apart: about 6 in 2 s (each asks every known node), not 1,000
    assertThat(probe.asked(B) - before).isBetween(4, 8);
    assertThat(loop.snapshot().master()).isEmpty();
    probe.roles.put(B, NodeRole.master(List.of()).withRunId("run-b"));
    loop.proposed(B, SourceKind.SENTINEL, "+switch-master");
    assertThat(loop.snapshot().master()).as("a chase that finds a master with none to prove it against decides at once").contains(B);
  }

  @Test
  void aWriteFenceHoldsFromTheAnnouncedPromotionUntilTheNewMasterIsProven() {
    loop.promotionStarting(A, B);
    assertThat(loop.fencedGeneration()).isEqualTo(1);
    loop.awaitVerdict(System.nanoTime()); // returns at the deadline, never hangs
    probe.roles.put(B, NodeRole.master(List.of()).withRunId("run-b"));
    probe.ids.put(B, new RoleProbe.ReplicationIds("bbbb", "aaaa"));
    loop.proposed(B, SourceKind.SENTINEL, "+selected-slave");
    assertThat(loop.snapshot().master()).contains(B);
    assertThat(loop.fencedGeneration()).as("lifted with the new generation").isEqualTo(-1);
  }

  @Test
  void aWriteFenceWithNoPromotionLiftsAfterItsTimeout() {
    loop.promotionStarting(A, B);
    env.advance(Duration.ofMillis(4_900));
    assertThat(loop.fencedGeneration()).isEqualTo(1);
    env.advance(Duration.ofMillis(200));
    assertThat(loop.fencedGeneration()).isEqualTo(-1);
    assertThat(loop.snapshot().master()).contains(A);
  }

  @Test
  void anAbortedFailoverLiftsTheFence() {
    loop.promotionStarting(A, B);
    loop.promotionAborted(A);
    assertThat(loop.fencedGeneration()).isEqualTo(-1);
  }

  @Test
  void aFenceIsOnlyForTheCurrentMaster() {
    loop.promotionStarting(B, A);
    assertThat(loop.fencedGeneration()).isEqualTo(-1);
  }

  @Test
  void whenStableOnlyTheMasterIsAskedOncePerVerifyInterval() {
    int before = probe.asked(A);
    env.advance(Duration.ofMinutes(1));
    assertThat(probe.asked(A) - before).isEqualTo(12);
    assertThat(probe.asked(B)).as("replicas are not asked while the master answers").isZero();
  }

  @Test
  void aRoundEndingAfterCloseTellsNoOne() {
    probe.hold = true;
    probe.roles.put(A, NodeRole.unreachable("refused"));
    loop.checkNow();
    loop.close();
    while (!probe.held.isEmpty()) { // answering one wave may ask the next
      probe.held.remove(0).complete(Map.of());
    }
    assertThat(changes).isEmpty();
    assertThat(loop.snapshot().master()).isEmpty();
    assertThat(loop.snapshot().describe()).contains("discovery closed");
  }

  // ---------------------------------------------------------------- the loop cannot stop (issue 17, item 2)

  /** The master dies after a failure inside a round: later rounds must still find that out, and the next master. */
  private void theLoopStillFollowsTheMaster() {
    probe.roles.put(A, NodeRole.unreachable(A + ": connection refused"));
    probe.roles.put(B, NodeRole.master(List.of()).withRunId("run-b"));
    labels.candidates = List.of(B);
    env.advance(Duration.ofSeconds(6)); // no event: only the loop's own ticks can notice
    assertThat(loop.snapshot().master()).as("the loop kept running its rounds").contains(B);
    assertThat(loop.evaluationOverdue()).isFalse();
  }

  @Test
  void aSourceWhoseCandidatesThrowOnceEndsThatRoundNotTheLoop() {
    labels.throwCandidates = 1;
    loop.checkNow();
    theLoopStillFollowsTheMaster();
  }

  @Test
  void aSourceWhoseHealthThrowsEndsThatRoundAndThatPollNotTheLoop() {
    labels.throwHealth = 2; // once in a health poll, once in a round start
    env.advance(DiscoveryLoop.HEALTH_INTERVAL);
    loop.checkNow();
    theLoopStillFollowsTheMaster();
  }

  @Test
  void aProbeThatThrowsEndsThatRoundNotTheLoop() {
    probe.throwProbes = 1;
    loop.checkNow();
    theLoopStillFollowsTheMaster();
  }

  @Test
  void aChaseWhoseProbeThrowsEndsThatChaseAndARoundTakesOver() {
    probe.throwProbes = 1;
    loop.proposed(B, SourceKind.SENTINEL, "+selected-slave");
    theLoopStillFollowsTheMaster();
  }

  @Test
  void aChaseWhoseSuccessionProofFailsEndsThatChaseAndARoundTakesOver() {
    probe.failReplicationIds = 1;
    probe.roles.put(B, NodeRole.master(List.of()).withRunId("run-b"));
    loop.proposed(B, SourceKind.SENTINEL, "+selected-slave");
    theLoopStillFollowsTheMaster();
  }

  @Test
  void aRoundThatStopsCompletingShowsAsOverdue() {
    probe.hold = true; // every probe's answer is held: rounds start and never end
    loop.checkNow();
    env.advance(Duration.ofSeconds(19));
    assertThat(loop.evaluationOverdue()).as("2 x verifyInterval + 10 s not yet passed").isFalse();
    env.advance(Duration.ofSeconds(2));
    assertThat(loop.evaluationOverdue()).isTrue();
    assertThat(loop.snapshot().evaluatedAt()).hasValueSatisfying(t -> assertThat(t).isBefore(env.now().minusSeconds(15)));
  }

  @Test
  void aFailedRoundIsLoggedOnceWithItsStackTraceWhileItRepeats() {
    labels.throwCandidates = 5;
    for (int i = 0; i < 5; i++) {
      loop.checkNow();
    }
    assertThat(logs.list.stream().filter(e -> e.getLevel() == Level.ERROR).toList()).hasSize(1)
        .allSatisfy(e -> assertThat(e.getThrowableProxy()).isNotNull());
    theLoopStillFollowsTheMaster();
  }

  /** Two failures in turn (a source's candidates, its health) were each logged as new every time: an ERROR with a stack trace per round. */
  @Test
  void failuresOfTwoPathsInTurnAreEachLoggedOnceWhileTheyRepeat() {
    for (int i = 0; i < 5; i++) {
      labels.throwCandidates = 1;
      loop.checkNow();
      labels.throwHealth = 1;
      env.advance(DiscoveryLoop.HEALTH_INTERVAL);
    }
    assertThat(logs.list.stream().filter(e -> e.getLevel() == Level.ERROR).map(e -> e.getThrowableProxy().getMessage()).toList())
        .containsExactlyInAnyOrder("candidates() failed once", "health() failed once");
    theLoopStillFollowsTheMaster();
  }

  @Test
  void aChaseThatSwitchesAwayFromASuspectMasterEndsTheSuspicion() {
    probe.roles.put(A, NodeRole.silent("no reply"));
    env.advance(Duration.ofSeconds(5));
    assertThat(loop.snapshot().suspectSince()).isPresent();
    probe.roles.put(B, NodeRole.master(List.of()).withRunId("run-b"));
    probe.ids.put(B, new RoleProbe.ReplicationIds("bbbb", "aaaa"));
    loop.proposed(B, SourceKind.SENTINEL, "+selected-slave");
    assertThat(loop.snapshot().master()).contains(B);
    probe.roles.put(B, NodeRole.silent("no reply"));
    env.advance(Duration.ofSeconds(5)); // B stalls at its first verify tick: a new suspicion, measured from now
    assertThat(loop.snapshot().suspectSince()).hasValueSatisfying(t -> assertThat(t).isAfter(env.now().minusSeconds(1)));
  }

  @Test
  void theOpenGenerationIsTheCurrentOneExceptUnderAFence() {
    assertThat(loop.openGeneration()).isEqualTo(1);
    loop.promotionStarting(A, B);
    assertThat(loop.openGeneration()).isEqualTo(-1);
    probe.roles.put(B, NodeRole.master(List.of()).withRunId("run-b"));
    probe.ids.put(B, new RoleProbe.ReplicationIds("bbbb", "aaaa"));
    loop.proposed(B, SourceKind.SENTINEL, "+selected-slave");
    assertThat(loop.openGeneration()).isEqualTo(2);
    loop.close();
    assertThat(loop.openGeneration()).as("closed: no connection may send").isEqualTo(3);
  }
}
