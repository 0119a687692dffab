package io.github.redismasterdiscovery;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import redis.clients.jedis.HostAndPort;

/**
 * The decision table, as one function of what the sources say and what the nodes answer to
 * {@code ROLE}. No state, no threads: {@link MasterDiscovery} calls it once per evaluation round.
 *
 * <table>
 *   <caption>Which node becomes (or stays) the master</caption>
 *   <tr><th>current master answers</th><th>Sentinel majority names S, S answers master</th><th>other nodes answering master</th><th>result</th></tr>
 *   <tr><td colspan="3">two servers answer master and one was promoted from the other (its {@code master_replid2} is the other's {@code master_replid})</td><td>the older one is ignored as a claimant (reported), whatever a lagging Sentinel says</td></tr>
 *   <tr><td>master</td><td>no (or S is the current master)</td><td>none</td><td>keep current</td></tr>
 *   <tr><td>master</td><td>yes, S differs</td><td>any</td><td>switch to S</td></tr>
 *   <tr><td>master</td><td>no</td><td>X</td><td>keep current, report the conflict (never flap)</td></tr>
 *   <tr><td>replica, no answer, or no current master</td><td>yes</td><td>any</td><td>S</td></tr>
 *   <tr><td>replica, no answer, or no current master</td><td>no</td><td>one or more</td><td>the first by source order (Sentinel, labels, DNS, replication, known nodes); others reported as a conflict</td></tr>
 *   <tr><td>replica, no answer, or no current master</td><td>no</td><td>none, after probing every known node</td><td>no master</td></tr>
 * </table>
 *
 * <p>Two addresses whose {@code ROLE} came from the same server process (same {@code run_id}, such as a
 * pod IP and the {@code redis-master} Service IP) are one node, never a conflict.
 *
 * <p>Candidates are probed in two waves: the current master and every source's hints first; only
 * when none of them answers master, the nodes learned from {@code ROLE} replies and seen before.
 */
final class Decider {

  private Decider() {}

  /**
   * @param master the chosen master, or null for none
   * @param source the source credited with it, or null
   * @param conflict a split-brain report, or null
   * @param roles every node probed this round and its answer
   * @param learned nodes named in {@code ROLE} replies (a master's replicas, a replica's master)
   */
  record Decision(HostAndPort master, SourceKind source, String conflict, Map<HostAndPort, NodeRole> roles, Set<HostAndPort> learned) {}

  /**
   * Decides the master for one round.
   *
   * @param current the master in use now, or null
   * @param currentSource the source credited with {@code current}
   * @param hints candidate addresses in preference order, each with the first source that proposed it
   * @param sentinelMajority the master named by a strict majority of the configured Sentinels, or null
   * @param known nodes seen before (a bounded set), probed only when no hint answers master
   * @param probe asks nodes for {@code ROLE}
   */
  static Decision decide(HostAndPort current, SourceKind currentSource, Map<HostAndPort, SourceKind> hints,
      HostAndPort sentinelMajority, Set<HostAndPort> known, RoleProbe probe) {
    Set<HostAndPort> firstWave = new LinkedHashSet<>();
    if (current != null) {
      firstWave.add(current);
    }
    if (sentinelMajority != null) {
      firstWave.add(sentinelMajority);
    }
    firstWave.addAll(hints.keySet());
    Map<HostAndPort, NodeRole> roles = new LinkedHashMap<>(probe.probe(firstWave));
    Set<HostAndPort> learned = learnedFrom(roles);

    if (roles.values().stream().noneMatch(NodeRole::isMaster)) {
      Set<HostAndPort> secondWave = new LinkedHashSet<>(learned);
      secondWave.addAll(known);
      secondWave.removeAll(roles.keySet());
      if (!secondWave.isEmpty()) {
        roles.putAll(probe.probe(secondWave));
        learned = learnedFrom(roles);
      }
    }

    List<HostAndPort> claimants = roles.entrySet().stream()
        .filter(e -> e.getValue().isMaster())
        .map(Map.Entry::getKey)
        .collect(Collectors.toList());
    List<HostAndPort> superseded = superseded(claimants, roles, probe);
    claimants.removeAll(superseded);
    boolean currentAnswersMaster = current != null && claimants.contains(current);
    boolean majorityAnswersMaster = sentinelMajority != null && claimants.contains(sentinelMajority);

    HostAndPort chosen;
    SourceKind source;
    if (currentAnswersMaster && !(majorityAnswersMaster && !sentinelMajority.equals(current))) {
      chosen = current;
      source = currentSource;
    } else if (majorityAnswersMaster) {
      chosen = sentinelMajority;
      source = SourceKind.SENTINEL;
    } else if (!claimants.isEmpty()) {
      chosen = claimants.get(0);
      source = hints.getOrDefault(chosen, SourceKind.NODE_PROBE);
    } else {
      return new Decision(null, null, null, roles, learned);
    }
    List<HostAndPort> others = new ArrayList<>(claimants);
    others.remove(chosen);
    NodeRole chosenRole = roles.get(chosen);
    others.removeIf(o -> roles.get(o).sameServerAs(chosenRole)); // a Service IP in front of the same server
    List<String> reports = new ArrayList<>();
    if (!others.isEmpty()) {
      reports.add(others + " also answer" + (others.size() == 1 ? "s" : "") + " ROLE master; using " + chosen
          + (chosen.equals(sentinelMajority) ? ", which the Sentinel majority names" : ", as no Sentinel majority names another"));
    }
    if (!superseded.isEmpty()) {
      reports.add(superseded + " still answer" + (superseded.size() == 1 ? "s" : "") + " ROLE master but a replica was promoted from "
          + (superseded.size() == 1 ? "it" : "them") + " (replication id); ignored until demoted");
    }
    return new Decision(chosen, source, reports.isEmpty() ? null : String.join("; ", reports), roles, learned);
  }

  /**
   * Claimants a newer claimant was promoted from: a stale master that has not been demoted yet. Only
   * asked when two distinct servers claim master, which is rare.
   */
  private static List<HostAndPort> superseded(List<HostAndPort> claimants, Map<HostAndPort, NodeRole> roles, RoleProbe probe) {
    List<HostAndPort> distinct = new ArrayList<>();
    for (HostAndPort c : claimants) {
      if (distinct.stream().noneMatch(d -> roles.get(d).sameServerAs(roles.get(c)))) {
        distinct.add(c);
      }
    }
    if (distinct.size() < 2) {
      return List.of();
    }
    Map<HostAndPort, RoleProbe.ReplicationIds> ids = probe.replicationIds(claimants);
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

  private static Set<HostAndPort> learnedFrom(Map<HostAndPort, NodeRole> roles) {
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
