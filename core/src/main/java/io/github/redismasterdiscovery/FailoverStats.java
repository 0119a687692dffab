package io.github.redismasterdiscovery;

import java.time.Instant;
import java.util.Optional;

/** Figures of a pool that follows the master, for metrics and health checks. Immutable. */
public final class FailoverStats {

  private final long failovers;
  private final long staleDiscarded;
  private final Instant lastSwitch;
  private final long inFlightAtFences;
  private final long refusedSends;
  private final long cutConnections;

  FailoverStats(long failovers, long staleDiscarded, Instant lastSwitch, long inFlightAtFences, long refusedSends, long cutConnections) {
    this.refusedSends = refusedSends;
    this.cutConnections = cutConnections;
    this.failovers = failovers;
    this.staleDiscarded = staleDiscarded;
    this.lastSwitch = lastSwitch;
    this.inFlightAtFences = inFlightAtFences;
  }

  /**
   * Master changes this pool followed: from one server to another (the first master is not counted,
   * nor a master lost and found again unchanged).
   */
  public long failovers() {
    return failovers;
  }

  /** Connections destroyed because they belonged to a previous master (idle ones cleared, borrowed ones on return). */
  public long staleDiscarded() {
    return staleDiscarded;
  }

  /**
   * Commands that were already in flight on the master when a write fence went up (Sentinel
   * announcing a promotion), summed over fences. They finish on the old master; if it acknowledged
   * any after the promotion itself, those writes are lost (in practice the promotion comes tens of
   * ms after the announcement, so they finish first).
   */
  public long inFlightAtFences() {
    return inFlightAtFences;
  }

  /**
   * Commands refused unsent because their connection belonged to a replaced master (a connection held
   * across a failover, a pipeline or transaction spanning it); each threw {@link MasterChangedException}.
   */
  public long refusedSends() {
    return refusedSends;
  }

  /**
   * Connections closed under a waiting thread at a switch (a blocking command, a subscription, a
   * pipeline's unread replies on the old master); each waiting call threw {@link MasterChangedException}.
   */
  public long cutConnections() {
    return cutConnections;
  }

  /** When the pool last switched to a new master; empty before the first failover. */
  public Optional<Instant> lastSwitch() {
    return Optional.ofNullable(lastSwitch);
  }

  @Override
  public String toString() {
    return "FailoverStats{failovers=" + failovers + ", staleDiscarded=" + staleDiscarded + ", inFlightAtFences=" + inFlightAtFences + ", refusedSends=" + refusedSends + ", cutConnections=" + cutConnections
        + ", lastSwitch=" + lastSwitch + "}";
  }
}
