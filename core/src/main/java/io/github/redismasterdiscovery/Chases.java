package io.github.redismasterdiscovery;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import redis.clients.jedis.HostAndPort;

/**
 * The candidates being chased: each one a source has just named is asked {@code ROLE} until it
 * answers master or its deadline ({@code chaseTimeout}, renewed whenever it is named again) passes.
 * A candidate that answered master is asked no more but stays a hint for rounds until it is adopted
 * or its deadline passes.
 *
 * <h2>Asked when something happens, not in a tight loop</h2>
 * Every application pod chases the same replica at the same moment, so what one chase sends is
 * multiplied by the fleet at the node being promoted. A chase therefore asks when a source says
 * something new about its candidate (a Sentinel's {@code +selected-slave},
 * {@code +failover-state-wait-promotion} (the moment the leader sends {@code REPLICAOF NO ONE}),
 * {@code +promoted-slave}, {@code +switch-master}, a label move, a new DNS answer): once at once,
 * and once {@value #FOLLOW_UP_MILLIS} ms later in case the promotion was still on its way. Between
 * signals it asks only sparsely, at jittered intervals ({@value #TAIL_MILLIS} ms on average for
 * {@value #SLOW_AFTER_MILLIS} ms, then {@value #LATE_TAIL_MILLIS} ms), so that a fleet's asks spread
 * out. A budget caps every chase at {@value #BUDGET} asks in any second, whatever the sources say.
 *
 * <p>Pure: no clock, no timers, no probes; {@link DiscoveryLoop} drives it under its monitor and
 * does what each step says. Randomness (the jitter) is injected so tests are exact.
 */
final class Chases {

  /** At most this many asks of one candidate in any one second. */
  static final int BUDGET = 5;
  static final long FOLLOW_UP_MILLIS = 3;
  static final long TAIL_MILLIS = 250;
  static final long SLOW_AFTER_MILLIS = 2_000;
  static final long LATE_TAIL_MILLIS = 1_000;
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
  private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

  /** One candidate being chased. */
  static final class Chase {
    final HostAndPort candidate;
    final SourceKind source;
    final String why;
    final long startNanos;
    long deadlineNanos;
    DiscoveryLoop.Cancellable next;
    /** When {@link #next} is due (nanoTime), meaningful while it is set. */
    long nextDueNanos;
    boolean answeredMaster;
    boolean asking;
    /** A signal arrived while an ask was in flight: ask again as soon as it answers (budget permitting). */
    boolean askAgain;
    /** Short follow-ups still owed to the latest signal. */
    int followUps;
    int asks;
    /** The start times of the last {@link #BUDGET} asks, a ring. */
    private final long[] recent = new long[BUDGET];

    Chase(HostAndPort candidate, SourceKind source, String why, long startNanos, long deadlineNanos) {
      this.candidate = candidate;
      this.source = source;
      this.why = why;
      this.startNanos = startNanos;
      this.deadlineNanos = deadlineNanos;
    }

    /** How long from {@code now} until the budget allows the next ask (0: now). */
    long budgetWait(long now) {
      return asks < BUDGET ? 0 : Math.max(0, recent[asks % BUDGET] + SECOND - now);
    }
  }

  /** Ask {@code chase} after {@code delayNanos} (0: now); the loop replaces the chase's pending timer, if any. */
  record Plan(Chase chase, long delayNanos) {}

  /** What to do after a chased candidate answered. */
  enum Step {
    /** Ask again after {@link #nextDelay}. */
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
  private final Supplier<RandomGenerator> random;

  /** @param random the calling thread's randomness, asked each time (see {@link DiscoveryLoop.Env#random()}) */
  Chases(Duration timeout, Supplier<RandomGenerator> random) {
    this.timeoutNanos = timeout.toNanos();
    this.random = random;
  }

  /**
   * A source named {@code candidate} (again): returns when to ask it, or null when nothing changes
   * (an ask is in flight and will be repeated when it answers, or one is already due as early as the
   * budget allows). Naming it again renews its deadline.
   */
  Plan propose(HostAndPort candidate, SourceKind source, String why, long now) {
    Chase c = chases.get(candidate);
    if (c != null && c.answeredMaster) {
      c.deadlineNanos = now + timeoutNanos; // already a hint for rounds, which weigh it; asking again would bypass the budget
      return null;
    }
    if (c == null) {
      c = new Chase(candidate, source, why, now, now + timeoutNanos);
      chases.put(candidate, c);
      c.followUps = 1;
      return new Plan(c, 0);
    }
    c.deadlineNanos = now + timeoutNanos;
    c.followUps = 1;
    if (c.asking) {
      c.askAgain = true;
      return null;
    }
    long due = now + c.budgetWait(now);
    if (c.next != null && c.nextDueNanos - due <= 0) {
      return null;
    }
    return new Plan(c, due - now);
  }

  /**
   * An ask of {@code c} starts at {@code now}: false when it must not (the chase is over, or another
   * ask is in flight). Counts it against the budget.
   */
  boolean startAsk(Chase c, long now) {
    if (chases.get(c.candidate) != c || c.asking || c.answeredMaster) {
      return false;
    }
    c.asking = true;
    c.next = null;
    c.recent[c.asks % BUDGET] = now;
    c.asks++;
    return true;
  }

  /** The candidate answered ({@code master} or not) at {@code now}: what the loop does next. */
  Step answered(Chase c, boolean master, long now) {
    if (chases.get(c.candidate) != c) {
      return Step.STALE;
    }
    c.asking = false;
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

  /**
   * How long the chase waits before asking again at {@code now}: at once for a signal that came
   * while it was asking, {@value #FOLLOW_UP_MILLIS} ms for a signal's follow-up, else a jittered
   * tail; never before the budget allows. Records when the ask is due.
   */
  long nextDelay(Chase c, long now) {
    long delay;
    if (c.askAgain) {
      c.askAgain = false;
      delay = 0;
    } else if (c.followUps > 0) {
      c.followUps--;
      delay = FOLLOW_UP_MILLIS * MS;
    } else {
      long base = now - c.startNanos < SLOW_AFTER_MILLIS * MS ? TAIL_MILLIS : LATE_TAIL_MILLIS;
      delay = (long) (base * MS * (0.5 + random.get().nextDouble())); // uniform in [base/2, 3 base/2): a fleet spreads out
    }
    delay = Math.max(delay, c.budgetWait(now));
    c.nextDueNanos = now + delay;
    return delay;
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
