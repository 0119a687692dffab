package io.github.redismasterdiscovery;

import java.util.List;
import redis.clients.jedis.HostAndPort;

/**
 * What one node said to {@code ROLE}.
 *
 * @param kind what the node is, or why it did not say
 * @param masterOfReplica for a replica, the master it replicates from; otherwise null
 * @param replicas for a master, its connected replicas; otherwise empty
 * @param detail for {@link Kind#UNREACHABLE} and {@link Kind#ERROR}, why (never a secret)
 * @param runId the server's {@code run_id} (one per process lifetime), or null when unknown; two
 *     addresses with the same run id are the same server (a pod IP and a Service IP, say)
 */
record NodeRole(Kind kind, HostAndPort masterOfReplica, List<HostAndPort> replicas, String detail, String runId) {

  /**
   * What the node is, or why it did not say: {@code SILENT} connected (or was connecting) but gave
   * no answer within the probe timeout (stalled, frozen, overloaded: maybe back soon);
   * {@code UNREACHABLE} refused or dropped the connection (no process listening); {@code ERROR}
   * answered, but not usefully (authentication, ACL, garbage).
   */
  enum Kind { MASTER, REPLICA, SILENT, UNREACHABLE, ERROR }

  static NodeRole master(List<HostAndPort> replicas) {
    return new NodeRole(Kind.MASTER, null, List.copyOf(replicas), "", null);
  }

  static NodeRole replicaOf(HostAndPort master) {
    return new NodeRole(Kind.REPLICA, master, List.of(), "", null);
  }

  static NodeRole silent(String why) {
    return new NodeRole(Kind.SILENT, null, List.of(), why, null);
  }

  static NodeRole unreachable(String why) {
    return new NodeRole(Kind.UNREACHABLE, null, List.of(), why, null);
  }

  static NodeRole error(String why) {
    return new NodeRole(Kind.ERROR, null, List.of(), why, null);
  }

  /** The addresses this answer names, as reached from here; those with no translation are left out (never contacted). */
  NodeRole translated(java.util.function.UnaryOperator<HostAndPort> translate) {
    HostAndPort master = masterOfReplica == null ? null : translate.apply(masterOfReplica);
    List<HostAndPort> reachable = replicas.stream().map(translate).filter(java.util.Objects::nonNull).toList();
    return new NodeRole(kind, master, reachable, detail, runId);
  }

  NodeRole withRunId(String id) {
    return new NodeRole(kind, masterOfReplica, replicas, detail, id);
  }

  /** Whether both are the same server process, as far as their run ids tell. */
  boolean sameServerAs(NodeRole other) {
    return runId != null && other != null && runId.equals(other.runId);
  }

  boolean isMaster() {
    return kind == Kind.MASTER;
  }

  /** What {@code node} answered, as one line that names it once (failure details already start with the address). */
  static String line(HostAndPort node, String answer) {
    return answer.startsWith(node.toString()) ? answer : node + " " + answer;
  }

  /** One line for snapshots and exception messages: what the node answered. */
  String describe() {
    switch (kind) {
      case MASTER:
        return "master";
      case REPLICA:
        return "replica of " + masterOfReplica;
      default:
        return detail;
    }
  }
}
