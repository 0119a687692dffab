package io.github.redismasterdiscovery;

import java.time.Instant;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import redis.clients.jedis.HostAndPort;

/**
 * An immutable view of the discovery's state: the verified master (if any), which source proposed
 * it, when it last answered {@code ROLE} with master, whether it has stopped answering, what each
 * node asked last answered, and each source's health.
 */
public final class MasterSnapshot {

  private final HostAndPort master;
  private final SourceKind source;
  private final Instant verifiedAt;
  private final long generation;
  private final HostAndPort lastKnownMaster;
  private final String conflict;
  private final Map<SourceKind, SourceState> sources;
  private final Instant suspectSince;
  private final Map<HostAndPort, String> answers;
  private final Instant evaluatedAt;

  MasterSnapshot(HostAndPort master, SourceKind source, Instant verifiedAt, long generation, HostAndPort lastKnownMaster,
      String conflict, Map<SourceKind, SourceState> sources, Instant suspectSince, Map<HostAndPort, String> answers, Instant evaluatedAt) {
    this.evaluatedAt = evaluatedAt;
    this.master = master;
    this.source = source;
    this.verifiedAt = verifiedAt;
    this.generation = generation;
    this.lastKnownMaster = lastKnownMaster;
    this.conflict = conflict;
    this.sources = Collections.unmodifiableMap(sources.isEmpty() ? new EnumMap<>(SourceKind.class) : new EnumMap<>(sources));
    this.suspectSince = suspectSince;
    this.answers = Collections.unmodifiableMap(new LinkedHashMap<>(answers));
  }

  /** The verified master, or empty when none is known right now. A {@linkplain #suspectSince() suspect} master is still the master. */
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
   * Since when the master has given no answer within the probe timeout (a stall, not a refused
   * connection), while no other node claims master; empty while it answers. A suspect master stays
   * the master, so a stall does not make pools reconnect, until the Sentinels agree it is down or
   * the discovery's {@code suspectTimeout} passes.
   */
  public Optional<Instant> suspectSince() {
    return Optional.ofNullable(suspectSince);
  }

  /**
   * A number that changes only when the master's identity changes: another address, or the same
   * address served by a restarted process. A master that is lost and found again unchanged keeps
   * its generation, so pools keep their connections; two snapshots with the same generation name
   * the same server (or none, after it).
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

  /** The state of each configured source; each detail says what that source sees. */
  public Map<SourceKind, SourceState> sources() {
    return sources;
  }

  /**
   * What each node asked in the latest evaluation answered: {@code master}, {@code replica of X},
   * or why it gave no usable answer (for example {@code 10.0.0.7:6379: WRONGPASS ...}). Never a secret.
   */
  public Map<HostAndPort, String> answers() {
    return answers;
  }

  /**
   * When the latest evaluation round completed with a decision (whatever it decided), or empty
   * before the first. Rounds run at least every {@code verifyInterval}; an instant much older than
   * that means the discovery has stopped evaluating (see {@link MasterDiscovery#evaluationOverdue()}).
   */
  public Optional<Instant> evaluatedAt() {
    return Optional.ofNullable(evaluatedAt);
  }

  /** The state of a closed discovery: no master, every source down, a new generation so no pooled connection stays in use. */
  MasterSnapshot closed(Instant now) {
    Map<SourceKind, SourceState> down = new EnumMap<>(SourceKind.class);
    sources.forEach((k, v) -> down.put(k, v.with(SourceState.Status.DOWN, "discovery closed", now)));
    return new MasterSnapshot(null, null, null, generation + 1, lastKnownMaster, null, down, null, Map.of(), evaluatedAt);
  }

  /**
   * One line for logs and exception messages: master, last known master, what the nodes answered
   * when there is no (answering) master, and each source's state.
   */
  public String describe() {
    StringBuilder b = new StringBuilder("master=").append(master == null ? "none" : master + " (from " + source + ")");
    if (suspectSince != null) {
      b.append(", not answering since ").append(suspectSince);
    }
    if (master == null && lastKnownMaster != null) {
      b.append(", last known master=").append(lastKnownMaster);
    }
    if (conflict != null) {
      b.append(", conflict: ").append(conflict);
    }
    if ((master == null || suspectSince != null) && !answers.isEmpty()) {
      b.append(", nodes answered: ").append(answers.entrySet().stream()
          .map(e -> NodeRole.line(e.getKey(), e.getValue()))
          .collect(Collectors.joining("; ")));
    }
    b.append(", sources: ").append(sources.values().stream().map(SourceState::toString).collect(Collectors.joining("; ")));
    return b.toString();
  }

  @Override
  public String toString() {
    return "MasterSnapshot{" + describe() + ", generation=" + generation + ", verifiedAt=" + verifiedAt + ", evaluatedAt=" + evaluatedAt + "}";
  }
}
