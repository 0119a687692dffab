package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;

/** The write fence on its own: when it rises, what lifts it, and what pools may do meanwhile. */
class WriteFenceTest {

  static final HostAndPort A = new HostAndPort("10.0.0.1", 6379);
  static final HostAndPort B = new HostAndPort("10.0.0.2", 6379);

  final WriteFence fence = new WriteFence(true, Duration.ofSeconds(5));
  boolean timerCancelled;

  @BeforeEach
  void generationOneOnA() {
    fence.published(1);
  }

  private WriteFence.Fence raised() {
    WriteFence.Fence f = fence.raise(A, A, B, 1_000);
    fence.armed(() -> timerCancelled = true);
    return f;
  }

  @Test
  void risesOnTheCurrentMasterOnceAndClosesItsGeneration() {
    assertThat(fence.openGeneration()).isEqualTo(1);
    WriteFence.Fence f = raised();
    assertThat(f.deadlineNanos()).isEqualTo(1_000 + Duration.ofSeconds(5).toNanos());
    assertThat(fence.holds(1)).isTrue();
    assertThat(fence.fencedGeneration()).isEqualTo(1);
    assertThat(fence.openGeneration()).as("no connection sends without asking").isEqualTo(-1);
    assertThat(fence.raise(A, A, B, 2_000)).as("one fence per generation").isNull();
  }

  @Test
  void neverRisesOnANodeThatIsNotTheCurrentMasterNorWhenOff() {
    assertThat(fence.raise(A, B, A, 1_000)).isNull();
    assertThat(fence.raise(null, A, B, 1_000)).isNull();
    WriteFence off = new WriteFence(false, Duration.ofSeconds(5));
    off.published(1);
    assertThat(off.raise(A, A, B, 1_000)).isNull();
    assertThat(off.openGeneration()).isEqualTo(1);
  }

  @Test
  void theNextGenerationLiftsItAndOpensThatGeneration() {
    raised();
    assertThat(fence.published(2)).isTrue();
    assertThat(timerCancelled).isTrue();
    assertThat(fence.fencedGeneration()).isEqualTo(-1);
    assertThat(fence.openGeneration()).isEqualTo(2);
  }

  @Test
  void theSameGenerationRepublishedKeepsIt() {
    raised();
    assertThat(fence.published(1)).isFalse();
    assertThat(fence.openGeneration()).isEqualTo(-1);
    assertThat(timerCancelled).isFalse();
  }

  @Test
  void anAbortFromItsMasterLiftsItAndOnlyThat() {
    WriteFence.Fence f = raised();
    assertThat(fence.abortedFrom(B)).isNull();
    assertThat(fence.abortedFrom(A)).isSameAs(f);
    assertThat(fence.lift(f)).isTrue();
    assertThat(fence.lift(f)).as("lifted once").isFalse();
    assertThat(fence.openGeneration()).isEqualTo(1);
  }

  @Test
  void anOldFencesTimerDoesNotLiftANewerFence() {
    WriteFence.Fence first = raised();
    fence.published(2);
    WriteFence.Fence second = fence.raise(B, B, A, 5_000);
    assertThat(fence.lift(first)).isFalse();
    assertThat(fence.holds(2)).isTrue();
    assertThat(fence.lift(second)).isTrue();
  }

  @Test
  void closingOpensANewGenerationNoConnectionHas() {
    raised();
    fence.close(2);
    assertThat(fence.fencedGeneration()).isEqualTo(-1);
    assertThat(fence.openGeneration()).isEqualTo(2);
    assertThat(timerCancelled).isTrue();
  }
}
