package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Label moved -> switch, 20 times: the time from the label write to the listener callback. Measured
 * and printed, not asserted (correctness tests must not depend on the machine's speed).
 */
class LabelLatencyIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create();

  @Test
  void twentyLabelMovesEachSwitchTheMaster() throws Exception {
    RedisHaTopology t = ha.topology();
    t.labels().pause(); // this test writes the labels itself ...
    t.sentinels().forEach(RedisProcess::kill); // ... and moves the master by hand, in milliseconds instead of a Sentinel failover's seconds
    ChangeRecorder changes = new ChangeRecorder();
    // Only labels, and no periodic verification in the way: the label write is the only trigger.
    try (MasterDiscovery d = MasterDiscovery.builder()
        .kubernetesLabels(LabelPreset.BITNAMI)
        .namespace(t.kubernetes().namespace())
        .kubernetesClient(t.kubernetes().newClient())
        .verifyInterval(Duration.ofMinutes(10))
        .listener(changes)
        .build()) {
      d.awaitMaster(Duration.ofSeconds(10));
      changes.next(5);
      List<Long> micros = new ArrayList<>();
      // Twenty moves, the first (cold: first patch, first informer event, first chase) included.
      for (int move = 0; move < 20; move++) {
        RedisProcess old = t.nodeClaimingMaster();
        RedisProcess next = t.node((t.nodes().indexOf(old) + 1) % t.nodes().size());
        t.promote(next);
        assertThat(t.role(old)).isEqualTo("slave");
        assertThat(t.role(next)).isEqualTo("master");
        if (move > 0) { // move 0 may still meet a round left from start-up (the informer's start), which sees the promotion
          assertThat(d.snapshot().master()).as("nothing but the label may trigger the switch").contains(old.address());
        }

        long writeAt = System.nanoTime();
        t.labels().setLabel(t.nodeIndex(next.address()), "true");
        ChangeRecorder.Change change = changes.nextTo(next.address(), 10);
        micros.add(Math.max(0, change.atNanos() - writeAt) / 1_000);
        if (move > 0) {
          assertThat(change.current().source()).contains(SourceKind.KUBERNETES);
        }
        // Let the round triggered by this write finish before the next promotion, or it would see that one first.
        java.time.Instant verified = d.snapshot().verifiedAt().orElseThrow();
        t.labels().setLabel(t.nodeIndex(old.address()), "false");
        await().atMost(Duration.ofSeconds(10)).until(() -> d.snapshot().verifiedAt().orElseThrow().isAfter(verified));
      }
      System.out.println("label write -> listener, in order (us), the first one cold: " + micros);
      Collections.sort(micros);
      System.out.printf("label write -> listener, %d moves, the first included: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms, min %.1f ms%n",
          micros.size(), pct(micros, 50), pct(micros, 90), pct(micros, 99), micros.get(micros.size() - 1) / 1000.0, micros.get(0) / 1000.0);
    }
  }

  static double pct(List<Long> sorted, int p) {
    int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, i)) / 1000.0;
  }
}
