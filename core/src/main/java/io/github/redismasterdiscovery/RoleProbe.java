package io.github.redismasterdiscovery;

import java.util.Collection;
import java.util.Map;

/** Asks nodes for their {@code ROLE}. Implementations never throw: failures are {@link NodeRole} values. */
interface RoleProbe extends AutoCloseable {

  /** Every node's role; all asked at once, bounded by the probe timeout. */
  Map<redis.clients.jedis.HostAndPort, NodeRole> probe(Collection<redis.clients.jedis.HostAndPort> nodes);

  /**
   * The replication ids ({@code master_replid}, {@code master_replid2}) of each node, from
   * {@code INFO replication}; nodes that do not answer are left out. Asked only when two servers
   * claim master at once.
   */
  Map<redis.clients.jedis.HostAndPort, ReplicationIds> replicationIds(Collection<redis.clients.jedis.HostAndPort> nodes);

  @Override
  void close();

  /**
   * A node's replication history: a replica promoted to master keeps its former master's id as
   * {@code replid2}, so {@code successor.replid2 == predecessor.replid} tells which master is newer.
   */
  record ReplicationIds(String replid, String replid2) {
    private static final String NONE = "0000000000000000000000000000000000000000";

    /** Whether this node was promoted from {@code other}'s replication history. */
    boolean succeeds(ReplicationIds other) {
      return other != null && replid2 != null && !replid2.equals(NONE) && replid2.equals(other.replid);
    }
  }
}
