package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.redismasterdiscovery.testkit.PromotionWatch;
import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link FailoverJedisPool} with four writers on the testkit's container topology (every node and
 * Sentinel a Docker container of {@code -Drmd.testkit.image}): a {@code docker kill} of the master,
 * SENTINEL FAILOVER, and a failover seen through the pod labels alone. The planned failover loses no
 * acknowledged write; recovery (promotion to the first write on the new master) is printed, not
 * asserted. Without a Docker engine these tests fail; they are never skipped.
 */
@Tag("containers")
class ContainerFailoverIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.containers(b -> { });

  enum Fault { KILL, SENTINEL_FAILOVER }

  record Outcome(long acknowledged, long lost, long errors, long recoveryMillis, RedisProcess next) {}

  /** Four writers through a pool on {@code discovery}, the fault, then the accounting of every acknowledged write on the new master. */
  private static Outcome underWriters(RedisHaTopology t, MasterDiscoveryBuilder discovery, Fault fault) throws Exception {
    WriteLog log = new WriteLog();
    try (MasterDiscovery d = discovery.clientConfig(t.clientConfig()).build();
        FailoverJedisPool pool = new FailoverJedisPool(d, FailoverJedisPoolIT.poolConfig(), t.clientConfig())) {
      d.awaitMaster(Duration.ofSeconds(10));
      FailoverJedisPoolIT.Writers writers = new FailoverJedisPoolIT.Writers(4, log.setsThrough(pool));
      await().atMost(Duration.ofSeconds(5)).until(() -> log.acks.size() > 500);
      RedisProcess old = t.master();
      PromotionWatch watch = PromotionWatch.start(t, t.replicasOf(old), Duration.ofSeconds(20));
      if (fault == Fault.KILL) {
        old.kill();
      } else {
        t.failover();
      }
      RedisProcess next = MasterDiscoveryIT.awaitNewMaster(t, old);
      long promotedAt = watch.promotedAtNanos(Duration.ofSeconds(20));
      await().atMost(Duration.ofSeconds(15)).until(() -> log.ackedAfter(promotedAt).stream()
          .filter(a -> next.address().equals(a.node())).count() > 500);
      writers.stopAndJoin();
      if (fault == Fault.SENTINEL_FAILOVER) {
        // the old master keeps what it acknowledged late until Sentinel demotes it (~10 s INFO poll), then drops it
        await().atMost(Duration.ofSeconds(25)).until(() -> t.role(old).equals("slave"));
      }
      List<WriteLog.Ack> all = new ArrayList<>(log.acks);
      long firstOnNew = all.stream().filter(a -> next.address().equals(a.node())).mapToLong(WriteLog.Ack::atNanos).min().orElseThrow();
      return new Outcome(all.size(), WriteLog.missing(t, next, all).size(), log.errors.size(), (firstOnNew - promotedAt) / 1_000_000, next);
    }
  }

  @Test
  void sentinelFailoverLosesNoAcknowledgedWrite(RedisHaTopology t) throws Exception {
    Outcome o = underWriters(t, TestDiscoveries.labelsAndSentinels(t), Fault.SENTINEL_FAILOVER);
    System.out.printf("containers, SENTINEL FAILOVER, 4 writers: %d of %d acknowledged writes lost, %d errors surfaced, "
        + "first write on the new master %d ms after promotion%n", o.lost(), o.acknowledged(), o.errors(), o.recoveryMillis());
    assertThat(o.acknowledged()).isGreaterThan(1000);
    assertThat(o.lost()).as("acknowledged writes lost on a planned failover").isZero();
  }

  @Test
  void killOfTheMasterContainerIsRecoveredFrom(RedisHaTopology t) throws Exception {
    Outcome o = underWriters(t, TestDiscoveries.labelsAndSentinels(t), Fault.KILL);
    System.out.printf("containers, docker kill of the master, 4 writers: %d of %d acknowledged writes lost to asynchronous "
        + "replication, %d errors surfaced, first write on the new master %d ms after promotion%n",
        o.lost(), o.acknowledged(), o.errors(), o.recoveryMillis());
    assertThat(o.acknowledged()).isGreaterThan(1000);
    // A killed master takes what it had not yet streamed with it; what the new master acknowledged must all be there.
    assertThat(o.lost()).isLessThan(o.acknowledged() / 10);
    // The killed container coming back as a replica is the testkit's ContainerTopologyIT: its ~15 s are not repeated here.
  }

  @Test
  void labelMovesAloneLeadThePoolToTheNewMasterAndAMisplacedLabelIsNotFollowed(RedisHaTopology t) throws Exception {
    // A label on a replica: ROLE proves it is no master, so the pool stays on the real one and loses nothing.
    int replica = t.labels().labelReplica();
    WriteLog log = new WriteLog();
    try (MasterDiscovery d = TestDiscoveries.labels(t).clientConfig(t.clientConfig()).build();
        FailoverJedisPool pool = new FailoverJedisPool(d, FailoverJedisPoolIT.poolConfig(), t.clientConfig())) {
      assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(t.node(0).address()).isNotEqualTo(t.node(replica).address());
      for (int i = 0; i < 200; i++) {
        String key = "misplaced:" + i;
        pool.execute(j -> j.set(key, "v"));
        log.acks.add(new WriteLog.Ack(key, 0, 0, null));
      }
      assertThat(WriteLog.missing(t, t.node(0), List.copyOf(log.acks))).isEmpty();
    }
    t.labels().setLabel(replica, "false");
    t.labels().setLabel(0, "true");
    // Then a real failover that only the labels announce (no Sentinel source): the pool follows the label move.
    Outcome o = underWriters(t, TestDiscoveries.labels(t), Fault.SENTINEL_FAILOVER);
    System.out.printf("containers, SENTINEL FAILOVER seen through labels only, 4 writers: %d of %d acknowledged writes lost "
        + "(no Sentinel, so no write fence), %d errors surfaced, first write on the new master %d ms after promotion%n",
        o.lost(), o.acknowledged(), o.errors(), o.recoveryMillis());
    assertThat(t.labels().appliedMaster()).isEqualTo(o.next().address());
    assertThat(o.acknowledged()).isGreaterThan(1000);
  }
}
