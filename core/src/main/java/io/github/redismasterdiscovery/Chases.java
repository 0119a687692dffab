package io.github.redismasterdiscovery;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import redis.clients.jedis.HostAndPort;

/**
 * The candidates being chased: each one a source has just named is asked {@code ROLE} at once and
 * then again and again, more slowly as time passes, until it answers master or its deadline
 * ({@code chaseTimeout}, renewed whenever it is named again) passes. A candidate that answered
 * master is asked no more but stays a hint for rounds until it is adopted or its deadline passes.
 *
 * <p>Pure: no clock, no timers, no probes; {@link DiscoveryLoop} drives it under its monitor and
 * does what each step says.
 */
final class Chases {

  /** One candidate being chased. */
  static final class Chase {
    final HostAndPort candidate;
    final SourceKind source;
    final String why;
    final long startNanos;
    long deadlineNanos;
    DiscoveryLoop.Cancellable next;
    boolean answeredMaster;

    Chase(HostAndPort candidate, SourceKind source, String why, long startNanos, long deadlineNanos) {
      this.candidate = candidate;
      this.source = source;
      this.why = why;
      this.startNanos = startNanos;
      this.deadlineNanos = deadlineNanos;
    }
  }

  /** What to do after a chased candidate answered. */
  enum Step {
    /** Ask again after {@link #delay}. */
    ASK_AGAIN,
    /** Its deadline passed and it is still not master: the chase ends. */
    GIVE_UP,
    /** It answered master: prove succession, or let a round decide. */
    MASTER,
    /** The chase is over already (adopted, replaced, failed, closed): ignore the answer. */
    STALE
  }

  private final Map<HostAndPort, Chase> chases = new HashMap<>();
  private final long timeoutNanos;

  Chases(Duration timeout) {
    this.timeoutNanos = timeout.toNanos();
  }

  /**
   * A source named {@code candidate}: returns a new chase to ask now, or null when one is already
   * asking it (its deadline is renewed: named again, keep going).
   */
  Chase propose(HostAndPort candidate, SourceKind source, String why, long now) {
    Chase c = chases.get(candidate);
    if (c != null && !c.answeredMaster) {
      c.deadlineNanos = now + timeoutNanos;
      return null;
    }
    c = new Chase(candidate, source, why, now, now + timeoutNanos);
    chases.put(candidate, c);
    return c;
  }

  /** The candidate answered ({@code master} or not) at {@code now}: what the loop does next. */
  Step answered(Chase c, boolean master, long now) {
    if (chases.get(c.candidate) != c) {
      return Step.STALE;
    }
    if (master) {
      c.answeredMaster = true;
      return Step.MASTER;
    }
    if (now - c.deadlineNanos >= 0) {
      chases.remove(c.candidate);
      return Step.GIVE_UP;
    }
    return Step.ASK_AGAIN;
  }

  /** How long the chase waits before asking again at {@code now}: every 2 ms at first, then more slowly. */
  static long delay(Chase c, long now) {
    long ms = TimeUnit.NANOSECONDS.toMillis(now - c.startNanos);
    return TimeUnit.MILLISECONDS.toNanos(ms < 250 ? 2 : ms < 2_000 ? 20 : 100);
  }

  /** A step of {@code c} failed: the chase ends (a round re-weighs every hint). */
  void failed(Chase c) {
    chases.remove(c.candidate, c);
  }

  /** {@code master} was adopted: its chase, if any, is over. */
  void adopted(HostAndPort master) {
    Chase c = chases.remove(master);
    if (c != null && c.next != null) {
      c.next.cancel();
    }
  }

  /** Adds the candidates still chased (or that answered master, until their deadline) to a round's hints. */
  void addHints(Map<HostAndPort, SourceKind> hints, long now) {
    chases.values().removeIf(c -> c.answeredMaster && now - c.deadlineNanos >= 0);
    for (Chase c : chases.values()) {
      hints.putIfAbsent(c.candidate, c.source);
    }
  }

  /** Ends every chase; returns their pending timers to cancel outside the lock. */
  List<DiscoveryLoop.Cancellable> clear() {
    List<DiscoveryLoop.Cancellable> timers = new ArrayList<>();
    for (Chase c : chases.values()) {
      if (c.next != null) {
        timers.add(c.next);
      }
    }
    chases.clear();
    return timers;
  }
}
