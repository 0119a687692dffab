package io.github.redismasterdiscovery;

import java.time.Instant;
import java.util.Objects;

/**
 * The health of one source of master candidates, as of a {@link MasterSnapshot}.
 *
 * <p>A source that is {@link Status#DOWN} never drops a verified master by itself: the master
 * stays in use while it answers {@code ROLE} with master.
 */
public final class SourceState {

  /** Health levels. */
  public enum Status {
    /** Started, not yet answered. */
    STARTING,
    /** Answering. */
    UP,
    /** Partly answering (for example, one of three Sentinels unreachable). */
    DEGRADED,
    /** Not answering; {@link #detail()} says why and what to fix. */
    DOWN
  }

  private final SourceKind kind;
  private final Status status;
  private final String detail;
  private final Instant since;

  SourceState(SourceKind kind, Status status, String detail, Instant since) {
    this.kind = Objects.requireNonNull(kind);
    this.status = Objects.requireNonNull(status);
    this.detail = detail == null ? "" : detail;
    this.since = Objects.requireNonNull(since);
  }

  /** Which source this is. */
  public SourceKind kind() {
    return kind;
  }

  /** Its health. */
  public Status status() {
    return status;
  }

  /** A human-readable explanation (never a secret); empty when there is nothing to say. */
  public String detail() {
    return detail;
  }

  /** When the source entered its current status. */
  public Instant since() {
    return since;
  }

  SourceState with(Status newStatus, String newDetail, Instant now) {
    if (newStatus == status && Objects.equals(newDetail == null ? "" : newDetail, detail)) {
      return this;
    }
    return new SourceState(kind, newStatus, newDetail, newStatus == status ? since : now);
  }

  @Override
  public String toString() {
    return kind + "=" + status + (detail.isEmpty() ? "" : " (" + detail + ")");
  }
}
