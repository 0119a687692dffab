package io.github.redismasterdiscovery;

import java.time.Duration;
import java.util.Objects;

/**
 * Opt-in reads from replicas for a {@link FailoverConnectionProvider}: where read-only commands go
 * ({@link ReadFrom}) and how stale a replica may be.
 *
 * <p>The bound is a guarantee, not a target. Every {@link #checkInterval()} the provider asks the
 * master {@code ROLE}: its replication offset, and the offset each connected replica last
 * acknowledged (replicas acknowledge once a second). A replica that acknowledged the master's offset
 * of an earlier check holds every write the master had acknowledged at that check; a replica the
 * master's view cannot prove recently enough is asked directly, and one that answers as a connected
 * replica of that master, at or past the master's current offset, is proven as of now. Such a
 * replica serves reads for {@link #maxStaleness()}
 * after that moment and no longer unless proven again; a replica that lags (or stalls, or loses its
 * link) therefore leaves the read set within the bound, and comes back once it has caught up. A read
 * started at time {@code t} sees every write acknowledged before {@code t - maxStaleness} (that is,
 * every such write Redis kept: one a failover lost with the old master is gone everywhere). On a
 * failover every proof ends at once: replicas are proven again against the new master, and the old
 * master serves reads only once it replicates from the new one and has caught up.
 *
 * <p>Cost: each provider with replica reads sends one {@code ROLE} per check to the master (0.8 a
 * second with the defaults), and asks a replica directly only when the master's view cannot prove
 * it in time or every tenth check (for its round trip), over one connection per node (client name
 * {@code rmd-replicas}). A {@code maxStaleness} under about 2 s cannot rely on the master's view
 * (acknowledgments are up to a second old) and asks every replica at every check while writes flow.
 *
 * <pre>{@code
 * ReplicaReads reads = ReplicaReads.from(ReadFrom.REPLICA_PREFERRED).maxStaleness(Duration.ofSeconds(2));
 * }</pre>
 */
public final class ReplicaReads {

  private final ReadFrom readFrom;
  private final Duration maxStaleness;
  private final Duration checkInterval;

  private ReplicaReads(ReadFrom readFrom, Duration maxStaleness, Duration checkInterval) {
    this.readFrom = readFrom;
    this.maxStaleness = maxStaleness;
    this.checkInterval = checkInterval;
  }

  /** Reads routed as {@code readFrom} says, at most 5 s stale, checked every 1.25 s. */
  public static ReplicaReads from(ReadFrom readFrom) {
    return new ReplicaReads(Objects.requireNonNull(readFrom, "readFrom"), DEFAULT_MAX_STALENESS, null);
  }

  /**
   * The default bound: long enough for the master's own view of its replicas (acknowledgments up to
   * a second old) to prove them at a check every 1.25 s, so replica reads cost each server at most
   * one command a second per application pod.
   */
  public static final Duration DEFAULT_MAX_STALENESS = Duration.ofSeconds(5);

  /**
   * How far behind the master a replica's data may be (default {@link #DEFAULT_MAX_STALENESS}). The check interval, unless
   * set, is a quarter of it, so that a healthy replica is proven again well before its proof ends.
   *
   * @throws IllegalArgumentException unless positive
   */
  public ReplicaReads maxStaleness(Duration maxStaleness) {
    Objects.requireNonNull(maxStaleness, "maxStaleness");
    if (maxStaleness.isZero() || maxStaleness.isNegative()) {
      throw new IllegalArgumentException("maxStaleness must be positive, was " + maxStaleness
          + ": use ReadFrom.MASTER for reads that must see every acknowledged write");
    }
    if (checkInterval != null && checkInterval.compareTo(maxStaleness) >= 0) {
      throw checkIntervalTooLong(checkInterval, maxStaleness);
    }
    return new ReplicaReads(readFrom, maxStaleness, checkInterval);
  }

  /**
   * How often replicas are proven (default a quarter of {@link #maxStaleness()}).
   *
   * @throws IllegalArgumentException unless positive and shorter than {@link #maxStaleness()}
   */
  public ReplicaReads checkInterval(Duration checkInterval) {
    Objects.requireNonNull(checkInterval, "checkInterval");
    if (checkInterval.isZero() || checkInterval.isNegative()) {
      throw new IllegalArgumentException("checkInterval must be positive, was " + checkInterval);
    }
    if (checkInterval.compareTo(maxStaleness) >= 0) {
      throw checkIntervalTooLong(checkInterval, maxStaleness);
    }
    return new ReplicaReads(readFrom, maxStaleness, checkInterval);
  }

  private static IllegalArgumentException checkIntervalTooLong(Duration checkInterval, Duration maxStaleness) {
    return new IllegalArgumentException("checkInterval " + checkInterval + " must be shorter than maxStaleness " + maxStaleness
        + " (a quarter of it is a good choice), or every replica would drop out between two checks");
  }

  /** Where read-only commands go. */
  public ReadFrom readFrom() {
    return readFrom;
  }

  /** How far behind the master a replica serving reads may be. */
  public Duration maxStaleness() {
    return maxStaleness;
  }

  /** How often replicas are proven. */
  public Duration checkInterval() {
    return checkInterval != null ? checkInterval : maxStaleness.dividedBy(4);
  }

  @Override
  public String toString() {
    return "ReplicaReads{readFrom=" + readFrom + ", maxStaleness=" + maxStaleness + ", checkInterval=" + checkInterval() + "}";
  }
}
