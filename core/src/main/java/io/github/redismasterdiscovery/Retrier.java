package io.github.redismasterdiscovery;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;

/** The retry loop of {@link RetryPolicy}, shared by {@link FailoverJedisPool#execute} and {@link FailoverCommandExecutor}. */
final class Retrier {

  /** How an attempt failed. */
  enum Failure { NOT_EXECUTED, AMBIGUOUS }

  /** An attempt's failure, classified by where it happened. */
  static final class AttemptFailed extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final Failure failure;

    AttemptFailed(Failure failure, RuntimeException cause) {
      super(cause.getMessage(), cause, false, false);
      this.failure = failure;
    }

    RuntimeException original() {
      return (RuntimeException) getCause();
    }
  }

  /** One attempt; throws {@link AttemptFailed} for failures the policy may retry, anything else as is. */
  interface Attempt<T> {
    T run();
  }

  private static final long FIRST_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
  private static final long MAX_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

  private final MasterDiscovery discovery;
  private final RetryPolicy policy;

  Retrier(MasterDiscovery discovery, RetryPolicy policy) {
    this.discovery = discovery;
    this.policy = policy;
  }

  RetryPolicy policy() {
    return policy;
  }

  <T> T run(CommandArguments args, Attempt<T> attempt) {
    long start = System.nanoTime();
    long deadline = start + policy.deadline().toNanos();
    long backoff = FIRST_BACKOFF_NANOS;
    int attempts = 0;
    while (true) {
      attempts++;
      try {
        return attempt.run();
      } catch (AttemptFailed f) {
        discovery.checkNow();
        boolean allowed = f.failure == Failure.NOT_EXECUTED || policy.mayRetryAmbiguous(args);
        long left = deadline - System.nanoTime();
        if (!allowed || left <= 0) {
          RuntimeException e = f.original();
          if (attempts > 1) {
            e.addSuppressed(new RetriesExhausted(attempts, Duration.ofNanos(System.nanoTime() - start), f.failure));
          }
          throw e;
        }
        pause(Math.min(backoff, left));
        backoff = Math.min(backoff * 2, MAX_BACKOFF_NANOS);
      }
    }
  }

  /** Classifies an exception thrown while the command was in flight (sent, reply pending). */
  static RuntimeException inFlight(RuntimeException e) {
    if (e instanceof MasterChangedException) {
      return new AttemptFailed(((MasterChangedException) e).mayHaveRun() ? Failure.AMBIGUOUS : Failure.NOT_EXECUTED, e);
    }
    if (e instanceof JedisDataException && refusedUnrun((JedisDataException) e)) {
      return new AttemptFailed(Failure.NOT_EXECUTED, e);
    }
    if (e instanceof JedisConnectionException) {
      return new AttemptFailed(Failure.AMBIGUOUS, e);
    }
    return e;
  }

  /**
   * Errors with which a node refuses a command without running it, because of its state rather than
   * the command: {@code READONLY} (a demoted master), {@code LOADING} (loading its data after a restart
   * or a full resync), {@code MASTERDOWN} (a replica without its master, {@code replica-serve-stale-data no}).
   */
  static boolean refusedUnrun(JedisDataException e) {
    String m = e.getMessage();
    return m != null && (m.startsWith("READONLY") || m.startsWith("LOADING") || m.startsWith("MASTERDOWN"));
  }

  /**
   * For a piece of work of several commands (a lambda): when a command after the first failed, the
   * earlier ones ran (or may have), so not even a failure of the last one "before execution" makes
   * the whole safe to run again.
   */
  static RuntimeException afterEarlierCommands(RuntimeException classified, long commandsThatMayHaveRun, RetryPolicy policy) {
    if (commandsThatMayHaveRun > 0 && classified instanceof AttemptFailed && ((AttemptFailed) classified).failure == Failure.NOT_EXECUTED) {
      RuntimeException original = ((AttemptFailed) classified).original();
      // With retryAmbiguous the work is retried, and if the deadline passes RetriesExhausted says so: nothing to restate.
      return new AttemptFailed(Failure.AMBIGUOUS, policy.retryAmbiguous() ? original : sayEarlierCommandsRan(original, commandsThatMayHaveRun));
    }
    return classified;
  }

  /**
   * What the caller sees of such a failure must not say "safe to retry": our own exception is
   * restated (may have run, the refused one as its cause); a server's reply ({@code READONLY}) keeps
   * its type and text and carries the explanation as a suppressed exception.
   */
  private static RuntimeException sayEarlierCommandsRan(RuntimeException original, long earlier) {
    String what = earlier + " earlier command" + (earlier == 1 ? "" : "s") + " of this work ran or may have run before a later one failed";
    String fix = "not retried: the work as a whole is not safe to run again (executeIdempotent retries work that is)";
    if (original instanceof MasterChangedException) {
      return new MasterChangedException(what + " unsent (the master changed, or a failover was under way); " + fix, true, original);
    }
    original.addSuppressed(new EarlierCommandsRan(what + "; " + fix));
    return original;
  }

  /** Attached as a suppressed exception: earlier commands of the failed work ran. */
  static final class EarlierCommandsRan extends RuntimeException {
    private static final long serialVersionUID = 1L;

    EarlierCommandsRan(String message) {
      super(message, null, false, false);
    }
  }

  /** For a command safe to run twice, an ambiguous failure is as good as one that did not run. */
  static RuntimeException asNotExecuted(RuntimeException classified) {
    return classified instanceof AttemptFailed ? new AttemptFailed(Failure.NOT_EXECUTED, ((AttemptFailed) classified).original()) : classified;
  }

  private static void pause(long nanos) {
    try {
      TimeUnit.NANOSECONDS.sleep(nanos); // back-off between attempts, bounded by the deadline
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new JedisConnectionException("interrupted while retrying a Redis command", e);
    }
  }

  /** Attached as a suppressed exception: how hard we tried. */
  static final class RetriesExhausted extends RuntimeException {
    private static final long serialVersionUID = 1L;

    RetriesExhausted(int attempts, Duration spent, Failure last) {
      super(attempts + " attempts over " + spent.toMillis() + " ms; last failure " + (last == Failure.AMBIGUOUS
          ? "ambiguous (the command may have run; not retried unless idempotent or retryAmbiguous)" : "before execution"),
          null, false, false);
    }
  }
}
