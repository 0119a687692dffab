package io.github.redismasterdiscovery;

import java.time.Instant;
import java.util.Optional;

/** Figures of a pool that follows the master, for metrics and health checks. Immutable. */
public final class FailoverStats {

  private final long failovers;
  private final long staleDiscarded;
  private final Instant lastSwitch;

  FailoverStats(long failovers, long staleDiscarded, Instant lastSwitch) {
    this.failovers = failovers;
    this.staleDiscarded = staleDiscarded;
    this.lastSwitch = lastSwitch;
  }

  /** Master changes this pool followed (from one master to another; the first master is not counted). */
  public long failovers() {
    return failovers;
  }

  /** Connections destroyed because they belonged to a previous master (idle ones cleared, borrowed ones on return). */
  public long staleDiscarded() {
    return staleDiscarded;
  }

  /** When the pool last switched to a new master; empty before the first failover. */
  public Optional<Instant> lastSwitch() {
    return Optional.ofNullable(lastSwitch);
  }

  @Override
  public String toString() {
    return "FailoverStats{failovers=" + failovers + ", staleDiscarded=" + staleDiscarded + ", lastSwitch=" + lastSwitch + "}";
  }
}
