package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;

/** The chases on their own: when a candidate is asked again, when the chase ends, what rounds see. */
class ChasesTest {

  static final HostAndPort B = new HostAndPort("10.0.0.2", 6379);
  static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

  /** Jitter pinned to the middle of its window, so delays are exact. */
  static final RandomGenerator MIDDLE = () -> Long.MIN_VALUE; // nextDouble() == 0.5

  final Chases chases = new Chases(Duration.ofSeconds(10), () -> MIDDLE);

  @Test
  void aNamedCandidateIsAskedAtOnceAndNamingItAgainRenewsTheDeadline() {
    Chases.Plan plan = chases.propose(B, SourceKind.SENTINEL, "+selected-slave", 0);
    assertThat(plan.delayNanos()).isZero();
    Chases.Chase c = plan.chase();
    assertThat(chases.startAsk(c, 0)).isTrue();
    assertThat(chases.startAsk(c, 0)).as("one ask in flight at a time").isFalse();
    assertThat(chases.propose(B, SourceKind.KUBERNETES, "pod labeled", 5_000 * MS)).as("asking: repeated when it answers").isNull();
    assertThat(c.deadlineNanos).isEqualTo(15_000 * MS);
    assertThat(chases.answered(c, false, 5_001 * MS)).isEqualTo(Chases.Step.ASK_AGAIN);
    assertThat(chases.nextDelay(c, 5_001 * MS)).as("the signal that came during the ask").isZero();
    chases.startAsk(c, 5_001 * MS);
    assertThat(chases.answered(c, false, 15_000 * MS)).isEqualTo(Chases.Step.GIVE_UP);
    assertThat(chases.answered(c, false, 15_001 * MS)).as("over").isEqualTo(Chases.Step.STALE);
  }

  @Test
  void aSignalIsFollowedUpOnceShortlyThenTheChaseAsksSparselyAndMoreSlowlyLater() {
    Chases.Chase c = chases.propose(B, SourceKind.SENTINEL, "x", 0).chase();
    chases.startAsk(c, 0);
    chases.answered(c, false, MS);
    assertThat(chases.nextDelay(c, MS)).isEqualTo(Chases.FOLLOW_UP_MILLIS * MS);
    chases.startAsk(c, 4 * MS);
    chases.answered(c, false, 5 * MS);
    assertThat(chases.nextDelay(c, 5 * MS)).as("jitter pinned to the middle").isEqualTo(Chases.TAIL_MILLIS * MS);
    assertThat(chases.nextDelay(c, 3_000 * MS)).isEqualTo(Chases.LATE_TAIL_MILLIS * MS);
  }

  @Test
  void theTailIsSpreadOverHalfToOneAndAHalfTimesItsBase() {
    SplittableRandom seeded = new SplittableRandom(7);
    Chases spread = new Chases(Duration.ofSeconds(10), () -> seeded);
    Chases.Chase c = spread.propose(B, SourceKind.SENTINEL, "x", 0).chase();
    c.followUps = 0;
    List<Long> delays = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      delays.add(spread.nextDelay(c, 10 * MS) / MS);
    }
    assertThat(delays).allSatisfy(d -> assertThat(d).isBetween(Chases.TAIL_MILLIS / 2, Chases.TAIL_MILLIS * 3 / 2));
    assertThat(delays.stream().distinct().count()).as("not in lockstep").isGreaterThan(50);
  }

  @Test
  void noMoreThanTheBudgetOfAsksInAnySecondWhateverTheSignals() {
    Chases.Chase c = null;
    List<Long> asks = new ArrayList<>();
    long now = 0;
    // A storm: a signal every millisecond for 3 s, each answered "replica" at once.
    for (; now < 3_000 * MS; now += MS) {
      Chases.Plan plan = chases.propose(B, SourceKind.SENTINEL, "storm", now);
      if (plan != null) {
        c = plan.chase();
        c.next = plan.delayNanos() == 0 ? null : () -> { };
        c.nextDueNanos = now + plan.delayNanos();
      }
      if (c != null && (c.next == null || c.nextDueNanos <= now) && chases.startAsk(c, now)) {
        asks.add(now);
        assertThat(chases.answered(c, false, now)).isEqualTo(Chases.Step.ASK_AGAIN);
        long delay = chases.nextDelay(c, now);
        c.next = () -> { };
        c.nextDueNanos = now + delay;
      }
    }
    for (int i = 0; i + Chases.BUDGET < asks.size(); i++) {
      assertThat(asks.get(i + Chases.BUDGET) - asks.get(i)).as("asks %d and %d", i, i + Chases.BUDGET).isGreaterThanOrEqualTo(1_000 * MS);
    }
    assertThat(asks).hasSizeBetween(3 * Chases.BUDGET - 2, 3 * Chases.BUDGET + 1);
  }

  @Test
  void aCandidateThatAnsweredMasterStaysAHintUntilAdoptedOrExpired() {
    Chases.Chase c = chases.propose(B, SourceKind.SENTINEL, "x", 0).chase();
    chases.startAsk(c, 0);
    assertThat(chases.answered(c, true, 10 * MS)).isEqualTo(Chases.Step.MASTER);
    Map<HostAndPort, SourceKind> hints = new LinkedHashMap<>();
    chases.addHints(hints, 20 * MS);
    assertThat(hints).containsEntry(B, SourceKind.SENTINEL);
    assertThat(chases.propose(B, SourceKind.KUBERNETES, "again", 30 * MS)).as("a master answer is a hint: not asked again, budget or not")
        .isNull();
    assertThat(c.deadlineNanos).as("named again: a hint for longer").isEqualTo(10_030 * MS);
    chases.adopted(B);
    hints.clear();
    chases.addHints(hints, 40 * MS);
    assertThat(hints).isEmpty();
  }

  @Test
  void anExpiredMasterAnswerIsNoLongerAHint() {
    Chases.Chase c = chases.propose(B, SourceKind.SENTINEL, "x", 0).chase();
    chases.startAsk(c, 0);
    chases.answered(c, true, MS);
    Map<HostAndPort, SourceKind> hints = new LinkedHashMap<>();
    chases.addHints(hints, 10_000 * MS);
    assertThat(hints).isEmpty();
  }

  @Test
  void aFailedStepEndsOnlyThatChaseAndClearReturnsPendingTimers() {
    Chases.Chase c = chases.propose(B, SourceKind.SENTINEL, "x", 0).chase();
    chases.failed(c);
    assertThat(chases.answered(c, false, MS)).isEqualTo(Chases.Step.STALE);
    assertThat(chases.startAsk(c, MS)).as("over: never asked again").isFalse();
    Chases.Chase d = chases.propose(B, SourceKind.SENTINEL, "y", 2 * MS).chase();
    d.next = () -> { };
    assertThat(chases.clear()).containsExactly(d.next);
    assertThat(chases.answered(d, false, 3 * MS)).isEqualTo(Chases.Step.STALE);
  }
}
