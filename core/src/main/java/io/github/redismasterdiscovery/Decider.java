package io.github.redismasterdiscovery;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import redis.clients.jedis.HostAndPort;

/**
 * The decision table, as one function of what the sources say and what the nodes answer to
 * {@code ROLE}. No state, no threads: {@link DiscoveryLoop} calls it once per evaluation round; the
 * probe is asynchronous, so no thread waits on a slow node.
 *
 * <table>
 *   <caption>Which node becomes (or stays) the master</caption>
 *   <tr><th>current master answers</th><th>Sentinel majority names S, S answers master</th><th>other nodes answering master</th><th>result</th></tr>
 *   <tr><td colspan="3">two servers answer master and one was promoted from the other (its {@code master_replid2} is the other's {@code master_replid})</td><td>the older one is ignored as a claimant (reported), whatever a lagging Sentinel says</td></tr>
 *   <tr><td colspan="3">a server only probing found (no source names it) answers master but shares no replication history with this group</td><td>ignored (reported): an unrelated Redis at an address a {@code ROLE} reply named</td></tr>
 *   <tr><td>master</td><td>no (or S is the current master)</td><td>none</td><td>keep current</td></tr>
 *   <tr><td>master</td><td>yes, S differs</td><td>any</td><td>switch to S</td></tr>
 *   <tr><td>master</td><td>no</td><td>X</td><td>keep current, report the conflict (never flap)</td></tr>
 *   <tr><td>replica, no answer, or no current master</td><td>yes</td><td>any</td><td>S</td></tr>
 *   <tr><td>replica, no answer, or no current master</td><td>no</td><td>one or more</td><td>the first by source order (Sentinel, labels, DNS, configured nodes, replication); others reported as a conflict</td></tr>
 *   <tr><td>replica, no answer, or no current master</td><td>no</td><td>none, after probing every known node</td><td>no master (the caller may keep a silent current master as suspect)</td></tr>
 * </table>
 *
 * <p>Two addresses whose {@code ROLE} came from the same server process (same {@code run_id}, such as a
 * pod IP and the {@code redis-master} Service IP) are one node, never a conflict.
 *
 * <p>Candidates are probed in two waves: the current master and every source's hints first; only
 * when none of them answers master, the nodes learned from {@code ROLE} replies and seen before.
 * {@code INFO replication} is asked only to settle a claim (two claimants, or a probe-only one).
 */
final class Decider {

  private Decider() {}

  /**
   * What one round starts from.
   *
   * @param current the master in use now, or null
   * @param currentSource the source credited with {@code current}
   * @param hints candidate addresses in preference order, each with the first source that proposed it
   * @param sentinelMajority the master named by a strict majority of the configured Sentinels, or null
   * @param known nodes seen before (a bounded set), probed only when no hint answers master
   * @param configured nodes the application configured ({@code nodes(..)}), probed like known nodes
   *     but trusted like a source's hints
   * @param lineage replication ids of masters verified before: a probe-only claimant must share one
   * @param superseded replication ids a verified master was promoted away from: while the current
   *     master does not answer master, a claimant still carrying one is the old master Sentinel has
   *     not demoted yet (the caller bounds how long, when no master is followed)
   */
  record Inputs(HostAndPort current, SourceKind currentSource, Map<HostAndPort, SourceKind> hints, HostAndPort sentinelMajority,
      Set<HostAndPort> known, Set<HostAndPort> configured, Set<String> lineage, Set<String> superseded) {

    Inputs(HostAndPort current, SourceKind currentSource, Map<HostAndPort, SourceKind> hints, HostAndPort sentinelMajority,
        Set<HostAndPort> known, Set<HostAndPort> configured, Set<String> lineage) {
      this(current, currentSource, hints, sentinelMajority, known, configured, lineage, Set.of());
    }

  }

  /**
   * @param master the chosen master, or null for none
   * @param source the source credited with it, or null
   * @param conflict a split-brain report, or null
   * @param roles every node probed this round and its answer
   * @param learned nodes named in {@code ROLE} replies (a master's replicas, a replica's master)
   * @param ids replication ids asked this round (empty unless a claim needed settling)
   */
  record Decision(HostAndPort master, SourceKind source, String conflict, Map<HostAndPort, NodeRole> roles, Set<HostAndPort> learned,
      Map<HostAndPort, RoleProbe.ReplicationIds> ids) {}

  /** Decides the master for one round; the answer completes once the nodes have answered or timed out. */
  static CompletableFuture<Decision> decide(Inputs in, RoleProbe probe) {
    Set<HostAndPort> firstWave = new LinkedHashSet<>();
    if (in.current() != null) {
      firstWave.add(in.current());
    }
    if (in.sentinelMajority() != null) {
      firstWave.add(in.sentinelMajority());
    }
    firstWave.addAll(in.hints().keySet());
    return probe.probe(firstWave).thenCompose(first -> {
      Map<HostAndPort, NodeRole> roles = new LinkedHashMap<>(first);
      if (roles.values().stream().anyMatch(NodeRole::isMaster)) {
        return CompletableFuture.completedFuture(roles);
      }
      Set<HostAndPort> secondWave = new LinkedHashSet<>(in.configured());
      secondWave.addAll(learnedFrom(roles));
      secondWave.addAll(in.known());
      secondWave.removeAll(roles.keySet());
      if (secondWave.isEmpty()) {
        return CompletableFuture.completedFuture(roles);
      }
      return probe.probe(secondWave).thenApply(second -> {
        roles.putAll(second);
        return roles;
      });
    }).thenCompose(roles -> {
      List<HostAndPort> claimants = claimants(roles);
      Set<HostAndPort> needIds = new LinkedHashSet<>();
      List<HostAndPort> probeOnly = claimants.stream().filter(c -> !named(in, c)).collect(Collectors.toList());
      if (!probeOnly.isEmpty()) {
        needIds.addAll(claimants);
        // The group's history as the sources see it: the nodes they named that answered.
        roles.forEach((node, role) -> {
          if (named(in, node) && (role.kind() == NodeRole.Kind.MASTER || role.kind() == NodeRole.Kind.REPLICA)) {
            needIds.add(node);
          }
        });
      } else if (distinct(claimants, roles).size() >= 2) {
        needIds.addAll(claimants);
      } else if (!claimants.isEmpty() && !in.superseded().isEmpty() && !claimants.contains(in.current())) {
        needIds.addAll(claimants); // is the one claimant the old master the stalled one was promoted from?
      }
      if (needIds.isEmpty()) {
        return CompletableFuture.completedFuture(choose(in, roles, Map.of()));
      }
      return probe.replicationIds(needIds).thenApply(ids -> choose(in, roles, ids));
    });
  }

  /** Whether a source (or the caller's configuration) names {@code node}, as opposed to probing alone finding it. */
  private static boolean named(Inputs in, HostAndPort node) {
    return node.equals(in.current()) || node.equals(in.sentinelMajority()) || in.hints().containsKey(node) || in.configured().contains(node);
  }

  private static Decision choose(Inputs in, Map<HostAndPort, NodeRole> roles, Map<HostAndPort, RoleProbe.ReplicationIds> ids) {
    Set<HostAndPort> learned = learnedFrom(roles);
    List<HostAndPort> claimants = claimants(roles);
    List<String> reports = new ArrayList<>();

    List<HostAndPort> unrelated = unrelated(in, roles, ids, claimants);
    claimants.removeAll(unrelated);
    if (!unrelated.isEmpty()) {
      reports.add(unrelated + " answer" + (unrelated.size() == 1 ? "s" : "") + " ROLE master but only probing found "
          + (unrelated.size() == 1 ? "it" : "them") + " and " + (unrelated.size() == 1 ? "it shares" : "they share")
          + " no replication history with this group (or INFO replication is not allowed); ignored");
    }
    List<HostAndPort> superseded = new ArrayList<>(superseded(claimants, roles, ids));
    if (!claimants.contains(in.current())) {
      // The master we follow (or followed last) was promoted from these; it stalls, died or is gone: going back to its
      // predecessor, which Sentinel has not demoted yet, would write where Redis will throw the writes away.
      for (HostAndPort c : claimants) {
        if (!superseded.contains(c) && ids.containsKey(c) && in.superseded().contains(ids.get(c).replid())) {
          superseded.add(c);
        }
      }
    }
    claimants.removeAll(superseded);
    if (!superseded.isEmpty()) {
      reports.add(superseded + " still answer" + (superseded.size() == 1 ? "s" : "") + " ROLE master but a replica was promoted from "
          + (superseded.size() == 1 ? "it" : "them") + " (replication id); ignored until demoted");
    }
    HostAndPort current = in.current();
    HostAndPort majority = in.sentinelMajority();
    boolean currentAnswersMaster = current != null && claimants.contains(current);
    boolean majorityAnswersMaster = majority != null && claimants.contains(majority);

    HostAndPort chosen;
    SourceKind source;
    if (currentAnswersMaster && !(majorityAnswersMaster && !majority.equals(current))) {
      chosen = current;
      source = in.currentSource();
    } else if (majorityAnswersMaster) {
      chosen = majority;
      source = SourceKind.SENTINEL;
    } else if (!claimants.isEmpty()) {
      chosen = claimants.get(0);
      source = in.hints().getOrDefault(chosen, SourceKind.NODE_PROBE);
    } else {
      return new Decision(null, null, reports.isEmpty() ? null : String.join("; ", reports), roles, learned, ids);
    }
    List<HostAndPort> others = new ArrayList<>(claimants);
    others.remove(chosen);
    NodeRole chosenRole = roles.get(chosen);
    others.removeIf(o -> roles.get(o).sameServerAs(chosenRole)); // a Service IP in front of the same server
    if (!others.isEmpty()) {
      reports.add(0, others + " also answer" + (others.size() == 1 ? "s" : "") + " ROLE master; using " + chosen
          + (chosen.equals(majority) ? ", which the Sentinel majority names" : ", as no Sentinel majority names another"));
    }
    return new Decision(chosen, source, reports.isEmpty() ? null : String.join("; ", reports), roles, learned, ids);
  }

  /** Claimants no source names whose replication history the group does not share. */
  private static List<HostAndPort> unrelated(Inputs in, Map<HostAndPort, NodeRole> roles, Map<HostAndPort, RoleProbe.ReplicationIds> ids,
      List<HostAndPort> claimants) {
    Set<String> history = new HashSet<>(in.lineage());
    roles.keySet().stream().filter(n -> named(in, n) && ids.containsKey(n)).forEach(n -> {
      history.add(ids.get(n).replid());
      history.add(ids.get(n).replid2());
    });
    List<HostAndPort> out = new ArrayList<>();
    for (HostAndPort c : claimants) {
      if (!named(in, c) && (!ids.containsKey(c) || !ids.get(c).sharesHistoryWith(history))) {
        out.add(c);
      }
    }
    return out;
  }

  /** Claimants a newer claimant was promoted from: a stale master that has not been demoted yet. */
  private static List<HostAndPort> superseded(List<HostAndPort> claimants, Map<HostAndPort, NodeRole> roles,
      Map<HostAndPort, RoleProbe.ReplicationIds> ids) {
    if (distinct(claimants, roles).size() < 2) {
      return List.of();
    }
    List<HostAndPort> out = new ArrayList<>();
    for (HostAndPort older : claimants) {
      for (HostAndPort newer : claimants) {
        if (ids.containsKey(newer) && ids.get(newer).succeeds(ids.get(older))) {
          out.add(older);
          break;
        }
      }
    }
    return out;
  }

  private static List<HostAndPort> claimants(Map<HostAndPort, NodeRole> roles) {
    return roles.entrySet().stream().filter(e -> e.getValue().isMaster()).map(Map.Entry::getKey).collect(Collectors.toList());
  }

  /** Claimants that are distinct servers (by run id, where known). */
  private static List<HostAndPort> distinct(List<HostAndPort> claimants, Map<HostAndPort, NodeRole> roles) {
    List<HostAndPort> distinct = new ArrayList<>();
    for (HostAndPort c : claimants) {
      if (distinct.stream().noneMatch(d -> roles.get(d).sameServerAs(roles.get(c)))) {
        distinct.add(c);
      }
    }
    return distinct;
  }

  static Set<HostAndPort> learnedFrom(Map<HostAndPort, NodeRole> roles) {
    Set<HostAndPort> learned = new LinkedHashSet<>();
    for (NodeRole role : roles.values()) {
      if (role.masterOfReplica() != null) {
        learned.add(role.masterOfReplica());
      }
      learned.addAll(role.replicas());
    }
    return learned;
  }
}
