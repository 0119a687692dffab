package io.github.redismasterdiscovery;

import java.util.Collection;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import redis.clients.jedis.HostAndPort;

/**
 * Asks nodes for their {@code ROLE}, without blocking the caller: every node is asked at once and
 * the answer completes when each has replied or its deadline passed. Implementations never
 * complete exceptionally: failures are {@link NodeRole} values.
 */
interface RoleProbe extends AutoCloseable {

  /** Every node's role. */
  CompletableFuture<Map<HostAndPort, NodeRole>> probe(Collection<HostAndPort> nodes);

  /**
   * The replication ids ({@code master_replid}, {@code master_replid2}) of each node, from
   * {@code INFO replication}; nodes that do not answer (or may not run INFO) are left out. Asked only
   * to settle a claim: two servers claiming master, a master only probing found, a promotion.
   */
  CompletableFuture<Map<HostAndPort, ReplicationIds>> replicationIds(Collection<HostAndPort> nodes);

  /**
   * The nodes whose latest answer was a configuration error no retry cures (credentials the node
   * refuses, a password it does not have, a missing permission), each with that error naming the
   * cause and the fix. Thread-safe.
   */
  default Map<HostAndPort, String> misconfigured() {
    return Map.of();
  }

  @Override
  void close();

  /**
   * A node's replication history: a replica promoted to master keeps its former master's id as
   * {@code replid2}, so {@code successor.replid2 == predecessor.replid} tells which master is newer;
   * a replica in sync shares its master's {@code replid}.
   */
  record ReplicationIds(String replid, String replid2) {
    static final String NONE = "0000000000000000000000000000000000000000";

    /** Whether this node was promoted from {@code other}'s replication history. */
    boolean succeeds(ReplicationIds other) {
      return other != null && replid2 != null && !replid2.equals(NONE) && replid2.equals(other.replid);
    }

    /** Whether this node's history includes any of {@code replids} (it is, or was promoted from, one of them). */
    boolean sharesHistoryWith(Collection<String> replids) {
      return replids.contains(replid) || (replid2 != null && !replid2.equals(NONE) && replids.contains(replid2));
    }
  }
}
