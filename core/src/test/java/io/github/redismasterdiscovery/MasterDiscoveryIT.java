package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.redismasterdiscovery.testkit.PromotionWatch;
import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.HostAndPort;

/** Discovery against a real topology: every row of the "must show" list. */
class MasterDiscoveryIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create();

  private final List<MasterDiscovery> opened = new ArrayList<>();
  private final ChangeRecorder changes = new ChangeRecorder();

  @AfterEach
  void closeDiscoveries() {
    opened.forEach(MasterDiscovery::close);
  }

  private MasterDiscoveryBuilder labels(RedisHaTopology t) {
    return TestDiscoveries.labels(t).kubernetesSelector("app.kubernetes.io/instance=redis").listener(changes);
  }

  private MasterDiscoveryBuilder labelsAndSentinels(RedisHaTopology t) {
    return labels(t).sentinels(t.sentinelAddresses()).masterName(t.masterName());
  }

  private MasterDiscovery open(MasterDiscoveryBuilder b) {
    MasterDiscovery d = b.build();
    opened.add(d);
    return d;
  }

  @Test
  void findsTheLabeledMasterAndReportsEverySourceUp() throws Exception {
    RedisHaTopology t = ha.topology();
    MasterDiscovery d = open(labelsAndSentinels(t).dnsName(t.node(0).address().getHost(), t.node(0).address().getPort()));
    assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(t.node(0).address());
    assertThat(changes.next(5).previous().master()).isEmpty();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(d.snapshot().sources().values())
        .extracting(SourceState::status).containsOnly(SourceState.Status.UP));
    assertThat(d.snapshot().sources()).containsKeys(SourceKind.SENTINEL, SourceKind.KUBERNETES, SourceKind.DNS);
    assertThat(d.snapshot().verifiedAt()).isPresent();
    assertThat(d.snapshot().conflict()).isEmpty();
  }

  @Test
  void killMinus9WithLaggingLabelsSwitchesThroughSentinelOrProbingBeforeTheLabelMoves() throws Exception {
    RedisHaTopology t = ha.topology();
    t.labels().setLag(Duration.ofSeconds(5));
    MasterDiscovery d = open(labelsAndSentinels(t));
    RedisProcess old = t.node(0);
    assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(old.address());
    changes.next(5);

    PromotionWatch watch = PromotionWatch.start(t, t.replicasOf(old), Duration.ofSeconds(15));
    long killedAt = System.nanoTime();
    old.kill();
    RedisProcess next = awaitNewMaster(t, old);
    ChangeRecorder.Change change = changes.nextTo(next.address(), 15);
    long promotedAt = watch.promotedAtNanos(Duration.ofSeconds(15));

    assertThat(change.master()).isEqualTo(next.address());
    assertThat(change.current().source()).hasValueSatisfying(s -> assertThat(s).isIn(SourceKind.SENTINEL, SourceKind.NODE_PROBE));
    assertThat(t.labels().appliedMaster()).as("labels still lag at the switch").isEqualTo(old.address());
    System.out.printf("kill -9 -> switch: %d ms after kill, %d ms after promotion, source %s%n",
        (change.atNanos() - killedAt) / 1_000_000, (change.atNanos() - promotedAt) / 1_000_000, change.current().source().get());
  }

  @Test
  void aLabelOnAReplicaLeadsToTheRealMaster() {
    RedisHaTopology t = ha.topology();
    int replica = t.labels().labelReplica();
    MasterDiscovery d = open(labels(t));
    assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(t.node(0).address()).isNotEqualTo(t.node(replica).address());
    assertThat(d.snapshot().source()).contains(SourceKind.NODE_PROBE);
    assertThat(d.snapshot().conflict()).isEmpty();
  }

  @Test
  void twoLabeledPodsDoNotConfuseIt() {
    RedisHaTopology t = ha.topology();
    t.labels().labelTwoPods();
    MasterDiscovery d = open(labels(t));
    assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(t.node(0).address());
    assertThat(d.snapshot().source()).contains(SourceKind.KUBERNETES);
    assertThat(d.snapshot().conflict()).isEmpty();
  }

  @Test
  void noLabeledPodKeepsTheVerifiedMasterAndProbingFollowsAFailover() throws Exception {
    RedisHaTopology t = ha.topology();
    MasterDiscovery d = open(labels(t));
    assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(t.node(0).address());
    changes.next(5);
    t.labels().pause();
    t.labels().labelNone();
    Instant0 before = Instant0.of(d);
    d.checkNow();
    await().atMost(Duration.ofSeconds(5)).until(() -> before.reverified(d));
    assertThat(d.snapshot().master()).contains(t.node(0).address());

    t.failover();
    RedisProcess next = awaitNewMaster(t, t.node(0));
    ChangeRecorder.Change change = changes.nextTo(next.address(), 15);
    assertThat(change.current().source()).contains(SourceKind.NODE_PROBE);
  }

  @Test
  void apiServerDownFallsBackToSentinelAndRecovers() throws Exception {
    RedisHaTopology t = ha.topology();
    MasterDiscovery d = open(labelsAndSentinels(t));
    d.awaitMaster(Duration.ofSeconds(10));
    await().atMost(Duration.ofSeconds(10)).until(() -> status(d, SourceKind.KUBERNETES) == SourceState.Status.UP);

    t.kubernetes().stop();
    await().atMost(Duration.ofSeconds(10)).until(() -> status(d, SourceKind.KUBERNETES) == SourceState.Status.DOWN);
    assertThat(d.snapshot().master()).contains(t.node(0).address());
    assertThat(d.snapshot().sources().get(SourceKind.KUBERNETES).detail()).isNotEmpty();

    t.failover();
    RedisProcess next = awaitNewMaster(t, t.node(0));
    ChangeRecorder.Change change = changes.nextTo(next.address(), 15);
    assertThat(change.current().source()).hasValueSatisfying(s -> assertThat(s).isIn(SourceKind.SENTINEL, SourceKind.NODE_PROBE));

    t.kubernetes().restart();
    await().atMost(Duration.ofSeconds(30)).until(() -> status(d, SourceKind.KUBERNETES) == SourceState.Status.UP);
    assertThat(d.snapshot().master()).contains(next.address());
  }

  @Test
  void allSentinelsDownLabelsStillServe() {
    RedisHaTopology t = ha.topology();
    t.sentinels().forEach(RedisProcess::kill);
    MasterDiscovery d = open(labelsAndSentinels(t));
    assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(t.node(0).address());
    assertThat(d.snapshot().source()).contains(SourceKind.KUBERNETES);
    await().atMost(Duration.ofSeconds(10)).until(() -> status(d, SourceKind.SENTINEL) == SourceState.Status.DOWN);
    assertThat(d.snapshot().sources().get(SourceKind.SENTINEL).detail()).contains("unreachable");
  }

  @Test
  void sentinelsAndApiDownDnsStillServes() {
    RedisHaTopology t = ha.topology();
    t.sentinels().forEach(RedisProcess::kill);
    t.kubernetes().stop();
    HostAndPort master = t.node(0).address();
    MasterDiscovery d = open(labelsAndSentinels(t).dnsName(master.getHost(), master.getPort()));
    assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(master);
    assertThat(d.snapshot().source()).contains(SourceKind.DNS);
  }

  @Test
  void everythingDownKeepsTheLastVerifiedMasterWhileItAnswersThenReportsNoMaster() throws Exception {
    RedisHaTopology t = ha.topology();
    MasterDiscovery d = open(labelsAndSentinels(t).dnsName("no-such-redis.invalid", 6379));
    HostAndPort master = d.awaitMaster(Duration.ofSeconds(10));
    changes.next(5);
    await().atMost(Duration.ofSeconds(10)).until(() -> status(d, SourceKind.KUBERNETES) == SourceState.Status.UP);
    t.kubernetes().stop();
    t.sentinels().forEach(RedisProcess::kill);
    await().atMost(Duration.ofSeconds(10)).until(() -> status(d, SourceKind.SENTINEL) == SourceState.Status.DOWN
        && status(d, SourceKind.KUBERNETES) == SourceState.Status.DOWN && status(d, SourceKind.DNS) == SourceState.Status.DOWN);
    Instant0 before = Instant0.of(d);
    d.checkNow();
    await().atMost(Duration.ofSeconds(5)).until(() -> before.reverified(d));
    assertThat(d.snapshot().master()).contains(master);

    t.node(0).kill();
    ChangeRecorder.Change lost = changes.next(10);
    assertThat(lost.current().master()).isEmpty();
    assertThat(lost.current().lastKnownMaster()).contains(master);
    long t0 = System.nanoTime();
    assertThatThrownBy(() -> d.awaitMaster(Duration.ofMillis(300)))
        .isInstanceOf(MasterUnavailableException.class)
        .hasMessageContaining("no verified Redis master within 300 ms")
        .hasMessageContaining("last known master=" + master)
        .hasMessageContaining("SENTINEL=DOWN").hasMessageContaining("KUBERNETES=DOWN").hasMessageContaining("DNS=DOWN");
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
  }

  @Test
  void splitBrainNeverSwitchesToTheResumedOldMasterWhileTheSentinelMajorityNamesTheNewOne() throws Exception {
    RedisHaTopology t = ha.topology();
    t.labels().setLag(Duration.ofSeconds(30)); // the label keeps pointing at the old master: a live hint for it
    MasterDiscovery d = open(labelsAndSentinels(t));
    RedisProcess old = t.node(0);
    d.awaitMaster(Duration.ofSeconds(10));
    changes.next(5);

    old.freeze();
    RedisProcess next = awaitNewMaster(t, old);
    changes.nextTo(next.address(), 15);
    old.unfreeze();
    // The old master wakes up believing it is master until Sentinel demotes it; it must never be chosen.
    await().atMost(Duration.ofSeconds(20)).until(() -> t.role(old).equals("slave"));
    Instant0 after = Instant0.of(d);
    d.checkNow();
    await().atMost(Duration.ofSeconds(5)).until(() -> after.reverified(d));
    // old -> (none while it was frozen) -> next, and never back to old.
    assertThat(changes.all.stream().map(ChangeRecorder.Change::master).filter(java.util.Objects::nonNull).collect(Collectors.toList()))
        .containsExactly(old.address(), next.address());
    assertThat(d.snapshot().master()).contains(next.address());
  }

  @Test
  void aFrozenSentinelIsNoticedByTheHeartbeatAndComesBack() {
    RedisHaTopology t = ha.topology();
    MasterDiscovery d = open(labelsAndSentinels(t).sentinelHeartbeat(Duration.ofMillis(200)));
    d.awaitMaster(Duration.ofSeconds(10));
    await().atMost(Duration.ofSeconds(10)).until(() -> status(d, SourceKind.SENTINEL) == SourceState.Status.UP);
    RedisProcess sentinel = t.sentinels().get(1);
    sentinel.freeze();
    await().atMost(Duration.ofSeconds(10)).until(() -> status(d, SourceKind.SENTINEL) == SourceState.Status.DEGRADED);
    assertThat(d.snapshot().sources().get(SourceKind.SENTINEL).detail()).contains(sentinel.address().toString());
    sentinel.unfreeze();
    await().atMost(Duration.ofSeconds(15)).until(() -> status(d, SourceKind.SENTINEL) == SourceState.Status.UP);
  }

  @Test
  void aWrongMasterSetNameIsReportedPlainly() {
    RedisHaTopology t = ha.topology();
    MasterDiscovery d = open(labels(t).sentinels(t.sentinelAddresses()).masterName("not-mymaster"));
    d.awaitMaster(Duration.ofSeconds(10));
    await().atMost(Duration.ofSeconds(10)).until(() -> status(d, SourceKind.SENTINEL) == SourceState.Status.DOWN);
    assertThat(d.snapshot().sources().get(SourceKind.SENTINEL).detail()).contains("does not know master set 'not-mymaster'");
  }

  /**
   * Found from the outside: a mapper that threw was reported as a Sentinel sending an unreadable reply,
   * and failed every round, so the snapshot's health never said why.
   */
  @Test
  void aThrowingExternalAccessMapperIsReportedAsTheApplicationsNotTheSentinels() {
    RedisHaTopology t = ha.topology();
    java.util.concurrent.atomic.AtomicBoolean broken = new java.util.concurrent.atomic.AtomicBoolean(true);
    MasterDiscovery d = open(MasterDiscovery.builder().sentinels(t.sentinelAddresses()).masterName(t.masterName())
        .externalAccess(ExternalAccess.mapper(announced -> {
          if (broken.get()) {
            throw new IllegalStateException("no route table yet");
          }
          return announced;
        })));
    // The Sentinels answer; what they name cannot be reached from here, and health says why (rounds complete).
    await().atMost(Duration.ofSeconds(10)).until(() -> String.valueOf(d.snapshot().sources().get(SourceKind.SENTINEL).detail()).contains("mapper"));
    assertThat(d.snapshot().sources().get(SourceKind.SENTINEL).detail())
        .contains("ExternalAccess.mapper threw java.lang.IllegalStateException: no route table yet for " + t.node(0).address())
        .contains("fix the mapper").doesNotContain("is this address a Sentinel");
    assertThat(d.snapshot().master()).isEmpty();
    broken.set(false);
    assertThat(d.awaitMaster(Duration.ofSeconds(15))).isEqualTo(t.node(0).address());
  }

  @Test
  void fiftyDiscoveriesWithFiftyPoolsOpenOneWatch() {
    RedisHaTopology t = ha.topology();
    t.labels().pause();
    io.fabric8.kubernetes.client.KubernetesClient client = t.kubernetes().newClient();
    int before = t.kubernetes().requests().size();
    List<FailoverJedisPool> pools = new ArrayList<>();
    try {
      for (int i = 0; i < 50; i++) {
        MasterDiscovery d = open(MasterDiscovery.builder().kubernetesLabels(LabelPreset.BITNAMI).namespace("redis").kubernetesClient(client));
        pools.add(new FailoverJedisPool(d));
      }
      for (MasterDiscovery d : opened) {
        assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(t.node(0).address());
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> opened.stream().allMatch(d -> status(d, SourceKind.KUBERNETES) == SourceState.Status.UP));
      List<String> requests = t.kubernetes().requests().subList(before, t.kubernetes().requests().size());
      assertThat(requests.stream().filter(r -> r.contains("watch=true"))).hasSize(1);
      assertThat(requests.stream().filter(r -> !r.contains("watch=true"))).hasSize(1);
      assertThat(SharedPodInformers.running()).isEqualTo(1);
    } finally {
      pools.forEach(FailoverJedisPool::close);
      opened.forEach(MasterDiscovery::close);
    }
    assertThat(SharedPodInformers.running()).as("the last user stops the shared informer").isZero();
  }

  @Test
  void closeLeavesNoThreadBehind() {
    RedisHaTopology t = ha.topology();
    MasterDiscovery d = open(labelsAndSentinels(t).dnsName("localhost", 6379));
    d.awaitMaster(Duration.ofSeconds(10));
    d.close();
    d.close();
    assertThatThrownBy(() -> d.awaitMaster(Duration.ofSeconds(1))).isExactlyInstanceOf(redis.clients.jedis.exceptions.JedisException.class).hasMessageContaining("closed");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Thread.getAllStackTraces().keySet())
        .filteredOn(th -> th.getName().startsWith("rmd-") && !th.getName().startsWith("rmd-testkit")).isEmpty());
  }

  static SourceState.Status status(MasterDiscovery d, SourceKind kind) {
    return d.snapshot().sources().get(kind).status();
  }

  static RedisProcess awaitNewMaster(RedisHaTopology t, RedisProcess old) {
    return t.awaitNewMaster(old, Duration.ofSeconds(20));
  }

  /** Remembers a snapshot's verification time, to wait for the next ROLE check. */
  record Instant0(java.time.Instant at) {
    static Instant0 of(MasterDiscovery d) {
      return new Instant0(d.snapshot().verifiedAt().orElse(java.time.Instant.EPOCH));
    }

    boolean reverified(MasterDiscovery d) {
      return d.snapshot().verifiedAt().map(v -> v.isAfter(at)).orElse(false);
    }
  }
}
