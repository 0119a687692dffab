package io.github.redismasterdiscovery;

/**
 * Where a {@link FailoverConnectionProvider} with {@link ReplicaReads} sends read-only commands
 * (as Lettuce's {@code ReadFrom}). Writes, transactions, pipelines and commands the library does not
 * know to be read-only always go to the master. A replica qualifies only while it is proven: it
 * answered {@code ROLE} as a connected replica of the current master and had caught up with the
 * master's replication offset within {@link ReplicaReads#maxStaleness()}.
 */
public enum ReadFrom {
  /** Every command on the master (the default without {@link ReplicaReads}). */
  MASTER,
  /** The master while one is verified; a proven replica while none is (during a failover). */
  MASTER_PREFERRED,
  /** A proven replica; the master when none is proven. */
  REPLICA_PREFERRED,
  /** A proven replica only; reads fail when none is proven (writes still go to the master). */
  REPLICA,
  /**
   * The node, master or proven replica, whose {@code ROLE} checks have answered fastest lately (a
   * moving average of their round trips): the nearest one, for clients spread over zones.
   */
  LOWEST_LATENCY
}
