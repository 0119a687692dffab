package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;

/** The chases on their own: when a candidate is asked again, when the chase ends, what rounds see. */
class ChasesTest {

  static final HostAndPort B = new HostAndPort("10.0.0.2", 6379);
  static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

  final Chases chases = new Chases(Duration.ofSeconds(10));

  @Test
  void aNamedCandidateIsChasedOnceAndNamingItAgainRenewsTheDeadline() {
    Chases.Chase c = chases.propose(B, SourceKind.SENTINEL, "+selected-slave", 0);
    assertThat(c).isNotNull();
    assertThat(chases.propose(B, SourceKind.KUBERNETES, "pod labeled", 5_000 * MS)).as("already chased").isNull();
    assertThat(c.deadlineNanos).isEqualTo(15_000 * MS);
    assertThat(chases.answered(c, false, 12_000 * MS)).isEqualTo(Chases.Step.ASK_AGAIN);
    assertThat(chases.answered(c, false, 15_000 * MS)).isEqualTo(Chases.Step.GIVE_UP);
    assertThat(chases.answered(c, false, 15_001 * MS)).as("over").isEqualTo(Chases.Step.STALE);
  }

  @Test
  void askingSlowsDownAsTimePasses() {
    Chases.Chase c = chases.propose(B, SourceKind.SENTINEL, "x", 0);
    assertThat(Chases.delay(c, 100 * MS)).isEqualTo(2 * MS);
    assertThat(Chases.delay(c, 300 * MS)).isEqualTo(20 * MS);
    assertThat(Chases.delay(c, 3_000 * MS)).isEqualTo(100 * MS);
  }

  @Test
  void aCandidateThatAnsweredMasterStaysAHintUntilAdoptedOrExpired() {
    Chases.Chase c = chases.propose(B, SourceKind.SENTINEL, "x", 0);
    assertThat(chases.answered(c, true, 10 * MS)).isEqualTo(Chases.Step.MASTER);
    Map<HostAndPort, SourceKind> hints = new LinkedHashMap<>();
    chases.addHints(hints, 20 * MS);
    assertThat(hints).containsEntry(B, SourceKind.SENTINEL);
    assertThat(chases.propose(B, SourceKind.KUBERNETES, "again", 30 * MS)).as("a master answer is re-asked when named again").isNotNull();
    chases.adopted(B);
    hints.clear();
    chases.addHints(hints, 40 * MS);
    assertThat(hints).isEmpty();
  }

  @Test
  void anExpiredMasterAnswerIsNoLongerAHint() {
    Chases.Chase c = chases.propose(B, SourceKind.SENTINEL, "x", 0);
    chases.answered(c, true, MS);
    Map<HostAndPort, SourceKind> hints = new LinkedHashMap<>();
    chases.addHints(hints, 10_000 * MS);
    assertThat(hints).isEmpty();
  }

  @Test
  void aFailedStepEndsOnlyThatChaseAndClearReturnsPendingTimers() {
    Chases.Chase c = chases.propose(B, SourceKind.SENTINEL, "x", 0);
    chases.failed(c);
    assertThat(chases.answered(c, false, MS)).isEqualTo(Chases.Step.STALE);
    Chases.Chase d = chases.propose(B, SourceKind.SENTINEL, "y", 2 * MS);
    d.next = () -> { };
    assertThat(chases.clear()).containsExactly(d.next);
    assertThat(chases.answered(d, false, 3 * MS)).isEqualTo(Chases.Step.STALE);
  }
}
