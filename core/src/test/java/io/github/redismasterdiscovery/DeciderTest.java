package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import io.github.redismasterdiscovery.RoleProbe.ReplicationIds;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;

/** Every row of the decision table in {@link Decider}'s javadoc, plus the probing waves. */
class DeciderTest {

  static final HostAndPort A = new HostAndPort("10.0.0.1", 6379);
  static final HostAndPort B = new HostAndPort("10.0.0.2", 6379);
  static final HostAndPort C = new HostAndPort("10.0.0.3", 6379);
  static final HostAndPort SERVICE = new HostAndPort("10.96.0.10", 6379);
  static final String NONE = "0000000000000000000000000000000000000000";

  /** Answers from a table; records what was asked, wave by wave. */
  static final class TableProbe implements RoleProbe {
    final Map<HostAndPort, NodeRole> answers = new HashMap<>();
    final Map<HostAndPort, ReplicationIds> ids = new HashMap<>();
    final List<List<HostAndPort>> waves = new ArrayList<>();
    int lineageQueries;

    TableProbe ids(HostAndPort node, String replid, String replid2) {
      ids.put(node, new ReplicationIds(replid, replid2));
      return this;
    }

    @Override
    public CompletableFuture<Map<HostAndPort, ReplicationIds>> replicationIds(Collection<HostAndPort> nodes) {
      lineageQueries++;
      Map<HostAndPort, ReplicationIds> out = new HashMap<>();
      nodes.stream().filter(ids::containsKey).forEach(n -> out.put(n, ids.get(n)));
      return CompletableFuture.completedFuture(out);
    }

    TableProbe with(HostAndPort node, NodeRole role) {
      answers.put(node, role);
      return this;
    }

    @Override
    public CompletableFuture<Map<HostAndPort, NodeRole>> probe(Collection<HostAndPort> nodes) {
      waves.add(List.copyOf(nodes));
      Map<HostAndPort, NodeRole> out = new LinkedHashMap<>();
      nodes.forEach(n -> out.put(n, answers.getOrDefault(n, NodeRole.unreachable("connection refused"))));
      return CompletableFuture.completedFuture(out);
    }

    @Override
    public void close() {}
  }

  /** One round with nothing configured and no lineage known yet; the table probe answers at once. */
  static Decider.Decision decide(HostAndPort current, SourceKind currentSource, Map<HostAndPort, SourceKind> hints, HostAndPort majority,
      Set<HostAndPort> known, RoleProbe probe) {
    return decide(current, currentSource, hints, majority, known, Set.of(), probe);
  }

  static Decider.Decision decide(HostAndPort current, SourceKind currentSource, Map<HostAndPort, SourceKind> hints, HostAndPort majority,
      Set<HostAndPort> known, Set<String> lineage, RoleProbe probe) {
    return Decider.decide(new Decider.Inputs(current, currentSource, hints, majority, known, Set.of(), lineage), probe).join();
  }

  static Map<HostAndPort, SourceKind> hints(Object... pairs) {
    Map<HostAndPort, SourceKind> out = new LinkedHashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      out.put((HostAndPort) pairs[i], (SourceKind) pairs[i + 1]);
    }
    return out;
  }

  @Test
  void currentMasterStillMasterAndNoOtherClaimIsKept() {
    TableProbe probe = new TableProbe().with(A, NodeRole.master(List.of(B))).with(B, NodeRole.replicaOf(A));
    Decider.Decision d = decide(A, SourceKind.KUBERNETES, hints(A, SourceKind.KUBERNETES, B, SourceKind.DNS), A, Set.of(), probe);
    assertThat(d.master()).isEqualTo(A);
    assertThat(d.source()).isEqualTo(SourceKind.KUBERNETES);
    assertThat(d.conflict()).isNull();
  }

  @Test
  void sentinelMajorityNamingAnotherVerifiedMasterWinsOverTheCurrent() {
    TableProbe probe = new TableProbe().with(A, NodeRole.master(List.of())).with(B, NodeRole.master(List.of()));
    Decider.Decision d = decide(A, SourceKind.KUBERNETES, hints(B, SourceKind.SENTINEL, A, SourceKind.KUBERNETES), B, Set.of(), probe);
    assertThat(d.master()).isEqualTo(B);
    assertThat(d.source()).isEqualTo(SourceKind.SENTINEL);
    assertThat(d.conflict()).contains(A.toString()).contains("Sentinel majority");
  }

  @Test
  void aPromotedReplicaBeatsTheMasterItReplacedEvenWhenALaggingSentinelMajorityStillNamesTheOld() {
    // B was promoted from A: B's replid2 is A's replid. A resumed from a freeze and still claims master.
    TableProbe probe = new TableProbe().with(A, NodeRole.master(List.of())).with(B, NodeRole.master(List.of()))
        .ids(A, "aaaa", "0000000000000000000000000000000000000000").ids(B, "bbbb", "aaaa");
    Decider.Decision d = decide(B, SourceKind.NODE_PROBE, hints(A, SourceKind.SENTINEL, A, SourceKind.KUBERNETES), A, Set.of(), probe);
    assertThat(d.master()).isEqualTo(B);
    assertThat(d.conflict()).contains("[" + A + "] still answers ROLE master but a replica was promoted from it");
  }

  @Test
  void anIsolatedOldMasterIsLeftForItsSuccessorWithoutAnySentinel() {
    TableProbe probe = new TableProbe().with(A, NodeRole.master(List.of())).with(B, NodeRole.master(List.of()))
        .ids(A, "aaaa", "0000000000000000000000000000000000000000").ids(B, "bbbb", "aaaa");
    Decider.Decision d = decide(A, SourceKind.KUBERNETES, hints(B, SourceKind.KUBERNETES), null, Set.of(), probe);
    assertThat(d.master()).isEqualTo(B);
  }

  @Test
  void lineageIsAskedOnlyWhenTwoServersClaimMaster() {
    TableProbe probe = new TableProbe().with(A, NodeRole.master(List.of())).with(B, NodeRole.replicaOf(A));
    decide(A, SourceKind.KUBERNETES, hints(B, SourceKind.KUBERNETES), null, Set.of(), probe);
    assertThat(probe.lineageQueries).isZero();
  }

  @Test
  void splitBrainWithoutSentinelMajorityKeepsTheCurrentAndReportsIt() {
    TableProbe probe = new TableProbe().with(A, NodeRole.master(List.of())).with(B, NodeRole.master(List.of()));
    Decider.Decision d = decide(A, SourceKind.SENTINEL, hints(B, SourceKind.KUBERNETES), null, Set.of(), probe);
    assertThat(d.master()).isEqualTo(A);
    assertThat(d.conflict()).startsWith("[" + B + "] also answers ROLE master; using " + A);
  }

  @Test
  void sentinelMajorityNamingANodeThatIsNotMasterDoesNotMoveUs() {
    TableProbe probe = new TableProbe().with(A, NodeRole.master(List.of())).with(B, NodeRole.replicaOf(A));
    Decider.Decision d = decide(A, SourceKind.KUBERNETES, hints(B, SourceKind.SENTINEL), B, Set.of(), probe);
    assertThat(d.master()).isEqualTo(A);
    assertThat(d.conflict()).isNull();
  }

  @Test
  void lostMasterIsReplacedByTheSentinelMajorityEvenWhenLabelsNameAnotherClaimant() {
    TableProbe probe = new TableProbe().with(B, NodeRole.master(List.of())).with(C, NodeRole.master(List.of()));
    Decider.Decision d = decide(A, SourceKind.KUBERNETES, hints(C, SourceKind.KUBERNETES, B, SourceKind.SENTINEL), B, Set.of(), probe);
    assertThat(d.master()).isEqualTo(B);
    assertThat(d.source()).isEqualTo(SourceKind.SENTINEL);
    assertThat(d.conflict()).contains(C.toString());
  }

  @Test
  void lostMasterWithoutMajorityTakesTheFirstClaimantBySourceOrder() {
    TableProbe probe = new TableProbe().with(A, NodeRole.replicaOf(B)).with(B, NodeRole.master(List.of())).with(C, NodeRole.master(List.of()));
    Decider.Decision d = decide(A, SourceKind.SENTINEL, hints(B, SourceKind.KUBERNETES, C, SourceKind.DNS), null, Set.of(), probe);
    assertThat(d.master()).isEqualTo(B);
    assertThat(d.source()).isEqualTo(SourceKind.KUBERNETES);
    assertThat(d.conflict()).contains(C.toString()).contains("no Sentinel majority");
  }

  @Test
  void noMasterAnywhereAfterProbingKnownNodesGivesNoMaster() {
    TableProbe probe = new TableProbe().with(B, NodeRole.replicaOf(A)).with(C, NodeRole.replicaOf(A));
    Set<HostAndPort> known = new LinkedHashSet<>(List.of(B, C)); // Set.of iterates in a random order per JVM
    Decider.Decision d = decide(A, SourceKind.SENTINEL, hints(A, SourceKind.SENTINEL), null, known, probe);
    assertThat(d.master()).isNull();
    assertThat(d.source()).isNull();
    assertThat(probe.waves).containsExactly(List.of(A), List.of(B, C));
  }

  @Test
  void knownNodesAreProbedOnlyWhenNoHintAnswersMaster() {
    TableProbe probe = new TableProbe().with(A, NodeRole.master(List.of()));
    decide(null, null, hints(A, SourceKind.KUBERNETES), null, Set.of(B, C), probe);
    assertThat(probe.waves).containsExactly(List.of(A));
  }

  @Test
  void aLabeledReplicaLeadsToItsMasterThroughReplication() {
    // A replica in sync shares its master's replication id: the labeled replica vouches for its master.
    TableProbe probe = new TableProbe().with(B, NodeRole.replicaOf(A)).with(A, NodeRole.master(List.of(B, C)))
        .ids(A, "aaaa", NONE).ids(B, "aaaa", NONE);
    Decider.Decision d = decide(null, null, hints(B, SourceKind.KUBERNETES), null, Set.of(), probe);
    assertThat(d.master()).isEqualTo(A);
    assertThat(d.source()).isEqualTo(SourceKind.NODE_PROBE);
    assertThat(d.learned()).contains(A, B, C);
  }

  /** Issue: an unrelated Redis at an address a master's replica list named was adopted once the real master was gone. */
  @Test
  void aMasterOnlyProbingFoundIsIgnoredUnlessItSharesTheGroupsReplicationHistory() {
    TableProbe probe = new TableProbe().with(B, NodeRole.replicaOf(A)).with(C, NodeRole.master(List.of()))
        .ids(B, "aaaa", NONE).ids(C, "cccc", NONE);
    Set<HostAndPort> known = new LinkedHashSet<>(List.of(B, C));
    Decider.Decision d = decide(A, SourceKind.SENTINEL, hints(A, SourceKind.SENTINEL), null, known, Set.of("aaaa"), probe);
    assertThat(d.master()).isNull();
    assertThat(d.conflict()).contains("[" + C + "] answers ROLE master but only probing found it").contains("no replication history");
  }

  @Test
  void aPromotedReplicaOnlyProbingFoundIsAdoptedThroughItsLineage() {
    // A was the master (replid aaaa) and is gone; C was promoted from it (replid2 aaaa); no source names C yet.
    TableProbe probe = new TableProbe().with(C, NodeRole.master(List.of())).ids(C, "cccc", "aaaa");
    Decider.Decision d = decide(A, SourceKind.SENTINEL, hints(A, SourceKind.SENTINEL), null, Set.of(C), Set.of("aaaa"), probe);
    assertThat(d.master()).isEqualTo(C);
    assertThat(d.source()).isEqualTo(SourceKind.NODE_PROBE);
  }

  @Test
  void aMasterOnlyProbingFoundIsIgnoredWhenItsLineageCannotBeRead() {
    TableProbe probe = new TableProbe().with(C, NodeRole.master(List.of())); // INFO not allowed: no ids
    Decider.Decision d = decide(A, SourceKind.SENTINEL, hints(A, SourceKind.SENTINEL), null, Set.of(C), Set.of("aaaa"), probe);
    assertThat(d.master()).isNull();
    assertThat(d.conflict()).contains("INFO replication is not allowed");
  }

  @Test
  void aConfiguredNodeIsTrustedLikeASourcesHint() {
    TableProbe probe = new TableProbe().with(C, NodeRole.master(List.of()));
    Decider.Decision d = Decider.decide(new Decider.Inputs(null, null, hints(), null, Set.of(), Set.of(C), Set.of()), probe).join();
    assertThat(d.master()).isEqualTo(C);
    assertThat(probe.lineageQueries).isZero();
  }

  @Test
  void theSameServerBehindTwoAddressesIsNoConflict() {
    TableProbe probe = new TableProbe()
        .with(A, NodeRole.master(List.of()).withRunId("run-1"))
        .with(SERVICE, NodeRole.master(List.of()).withRunId("run-1"));
    Decider.Decision d = decide(A, SourceKind.KUBERNETES, hints(SERVICE, SourceKind.DNS), null, Set.of(), probe);
    assertThat(d.master()).isEqualTo(A);
    assertThat(d.conflict()).isNull();
  }

  @Test
  void unknownRunIdsAreNotAssumedToBeTheSameServer() {
    TableProbe probe = new TableProbe().with(A, NodeRole.master(List.of())).with(SERVICE, NodeRole.master(List.of()));
    Decider.Decision d = decide(A, SourceKind.KUBERNETES, hints(SERVICE, SourceKind.DNS), null, Set.of(), probe);
    assertThat(d.conflict()).isNotNull();
  }

  @Test
  void nothingConfiguredAndNothingKnownGivesNoMasterWithoutProbing() {
    TableProbe probe = new TableProbe();
    Decider.Decision d = decide(null, null, hints(), null, Set.of(), probe);
    assertThat(d.master()).isNull();
    assertThat(probe.waves).containsExactly(List.of());
  }
}
