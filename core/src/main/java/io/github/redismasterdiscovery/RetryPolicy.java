package io.github.redismasterdiscovery;

import java.time.Duration;
import java.util.Objects;
import java.util.function.Predicate;
import redis.clients.jedis.CommandArguments;

/**
 * When a command caught in a failover is tried again on the new master. Immutable.
 *
 * <ul>
 *   <li><b>Certainly not executed</b> — no connection could be had (no master yet, connect
 *       refused), the request could not be written, or the node answered {@code READONLY} (a
 *       replica executes nothing it rejects): retried until the {@linkplain #deadline() deadline}.
 *   <li><b>Ambiguous</b> — the connection broke after the request was sent: the command may or
 *       may not have run. Retried only for commands {@linkplain Builder#idempotent(Predicate)
 *       marked idempotent} (by default the read-only ones), or for all when
 *       {@linkplain Builder#retryAmbiguous(boolean) opted in}.
 *   <li>Any other error (a wrong type, a script error, ...) is never retried.
 * </ul>
 *
 * Between attempts the discovery is asked to re-check at once, and the attempt waits for a master.
 * When the deadline passes, the last failure is thrown as it was.
 *
 * <p>{@linkplain Builder#waitForReplicas(int, Duration) WAIT}: after a successful write the
 * executor sends {@code WAIT n timeout}; fewer acknowledgements throw a
 * {@link ReplicaAcknowledgmentException} (the write did happen on the master; it is not retried).
 */
public final class RetryPolicy {

  private static final RetryPolicy DEFAULT = builder().build();

  private final Duration deadline;
  private final boolean retryAmbiguous;
  private final Predicate<CommandArguments> idempotent;
  private final int waitReplicas;
  private final Duration waitTimeout;

  private RetryPolicy(Builder b) {
    this.deadline = b.deadline;
    this.retryAmbiguous = b.retryAmbiguous;
    this.idempotent = b.idempotent;
    this.waitReplicas = b.waitReplicas;
    this.waitTimeout = b.waitTimeout;
  }

  /** 5 s deadline, ambiguous failures retried for read-only commands only, no WAIT. */
  public static RetryPolicy defaults() {
    return DEFAULT;
  }

  /** A builder starting from {@link #defaults()}. */
  public static Builder builder() {
    return new Builder();
  }

  /** How long a command may keep being retried, from its first attempt. */
  public Duration deadline() {
    return deadline;
  }

  /** Whether every ambiguous failure is retried (at-least-once semantics). */
  public boolean retryAmbiguous() {
    return retryAmbiguous;
  }

  /** Replicas to wait for after each write; 0 for none. */
  public int waitReplicas() {
    return waitReplicas;
  }

  /** The {@code WAIT} timeout. */
  public Duration waitTimeout() {
    return waitTimeout;
  }

  boolean mayRetryAmbiguous(CommandArguments args) {
    return retryAmbiguous || (args != null && idempotent.test(args));
  }

  @Override
  public String toString() {
    return "RetryPolicy{deadline=" + deadline + ", retryAmbiguous=" + retryAmbiguous + ", waitReplicas=" + waitReplicas
        + (waitReplicas > 0 ? ", waitTimeout=" + waitTimeout : "") + "}";
  }

  /** Builder for {@link RetryPolicy}. */
  public static final class Builder {
    private Duration deadline = Duration.ofSeconds(5);
    private boolean retryAmbiguous;
    private Predicate<CommandArguments> idempotent = Commands::isReadOnly;
    private int waitReplicas;
    private Duration waitTimeout = Duration.ofSeconds(1);

    private Builder() {}

    /** How long to keep retrying (default 5 s); {@link Duration#ZERO} disables retries. */
    public Builder deadline(Duration deadline) {
      if (deadline == null || deadline.isNegative()) {
        throw new IllegalArgumentException("deadline must be zero or positive, was " + deadline);
      }
      this.deadline = deadline;
      return this;
    }

    /** Retries every ambiguous failure too: a write may then run twice (default false). */
    public Builder retryAmbiguous(boolean retryAmbiguous) {
      this.retryAmbiguous = retryAmbiguous;
      return this;
    }

    /** Which commands are safe to run twice (default: the read-only commands, such as GET, MGET, HGETALL). */
    public Builder idempotent(Predicate<CommandArguments> idempotent) {
      this.idempotent = Objects.requireNonNull(idempotent, "idempotent");
      return this;
    }

    /** After each write, {@code WAIT replicas timeout}; fewer acknowledgements throw {@link ReplicaAcknowledgmentException}. */
    public Builder waitForReplicas(int replicas, Duration timeout) {
      if (replicas < 1) {
        throw new IllegalArgumentException("waitForReplicas needs at least 1 replica, was " + replicas);
      }
      if (timeout == null || timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("waitForReplicas timeout must be positive (WAIT 0 blocks forever), was " + timeout);
      }
      this.waitReplicas = replicas;
      this.waitTimeout = timeout;
      return this;
    }

    /** The policy. */
    public RetryPolicy build() {
      return new RetryPolicy(this);
    }
  }
}
