package io.github.redismasterdiscovery;

import java.time.Instant;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import redis.clients.jedis.HostAndPort;

/**
 * An immutable view of the discovery's state: the verified master (if any), which source proposed
 * it, when it last answered {@code ROLE} with master, and each source's health.
 */
public final class MasterSnapshot {

  private final HostAndPort master;
  private final SourceKind source;
  private final Instant verifiedAt;
  private final long generation;
  private final HostAndPort lastKnownMaster;
  private final String conflict;
  private final Map<SourceKind, SourceState> sources;

  MasterSnapshot(HostAndPort master, SourceKind source, Instant verifiedAt, long generation, HostAndPort lastKnownMaster,
      String conflict, Map<SourceKind, SourceState> sources) {
    this.master = master;
    this.source = source;
    this.verifiedAt = verifiedAt;
    this.generation = generation;
    this.lastKnownMaster = lastKnownMaster;
    this.conflict = conflict;
    this.sources = Collections.unmodifiableMap(sources.isEmpty() ? new EnumMap<>(SourceKind.class) : new EnumMap<>(sources));
  }

  /** The verified master, or empty when none is known right now. */
  public Optional<HostAndPort> master() {
    return Optional.ofNullable(master);
  }

  /** The source that proposed the current master, or empty when there is none. */
  public Optional<SourceKind> source() {
    return Optional.ofNullable(source);
  }

  /** When the master last answered {@code ROLE} with master, or empty when there is none. */
  public Optional<Instant> verifiedAt() {
    return Optional.ofNullable(verifiedAt);
  }

  /**
   * A number that grows by one at every master change (including to and from "no master"): two
   * snapshots with the same generation name the same master.
   */
  public long generation() {
    return generation;
  }

  /** The last master ever verified, even if it is gone now; empty before the first. */
  public Optional<HostAndPort> lastKnownMaster() {
    return Optional.ofNullable(lastKnownMaster);
  }

  /**
   * A split-brain report: another node also answers {@code ROLE} with master and was not chosen
   * (see the decision table on {@link MasterDiscovery}); empty when there is none.
   */
  public Optional<String> conflict() {
    return Optional.ofNullable(conflict);
  }

  /** The state of each configured source. */
  public Map<SourceKind, SourceState> sources() {
    return sources;
  }

  /** The state of a closed discovery: no master, every source down, a new generation so no pooled connection stays in use. */
  MasterSnapshot closed(Instant now) {
    Map<SourceKind, SourceState> down = new EnumMap<>(SourceKind.class);
    sources.forEach((k, v) -> down.put(k, v.with(SourceState.Status.DOWN, "discovery closed", now)));
    return new MasterSnapshot(null, null, null, generation + 1, lastKnownMaster, null, down);
  }

  /** One line for logs and exception messages: master, last known master and source states. */
  public String describe() {
    return "master=" + (master == null ? "none" : master + " (from " + source + ")")
        + (master == null && lastKnownMaster != null ? ", last known master=" + lastKnownMaster : "")
        + (conflict == null ? "" : ", conflict: " + conflict)
        + ", sources: " + sources.values().stream().map(SourceState::toString).collect(Collectors.joining("; "));
  }

  @Override
  public String toString() {
    return "MasterSnapshot{" + describe() + ", generation=" + generation + ", verifiedAt=" + verifiedAt + "}";
  }
}
