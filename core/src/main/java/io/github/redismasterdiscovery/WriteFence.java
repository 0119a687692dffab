package io.github.redismasterdiscovery;

import java.time.Duration;
import redis.clients.jedis.HostAndPort;

/**
 * The write fence, as a state machine of its own: raised when Sentinel's leader announces the
 * replica it is promoting away from the current master, lifted when a new generation is published
 * (the promotion proven, or the master lost), when Sentinel aborts, or when its timeout passes.
 * While it holds generation {@code g}, connections of {@code g} do not start commands.
 *
 * <p>Pure: it keeps no clock and schedules nothing; {@link DiscoveryLoop} drives it under its
 * monitor, hands it the timer it armed, and announces what it decides. The two values pools read
 * without the lock ({@link #fencedGeneration()}, {@link #openGeneration()}) are volatile.
 */
final class WriteFence {

  /** The fence on one generation's master: who is being promoted, since when, until when at most. */
  record Fence(long generation, HostAndPort master, HostAndPort candidate, long sinceNanos, long deadlineNanos) {}

  private final boolean enabled;
  private final long timeoutNanos;
  private volatile Fence fence;
  private volatile long openGeneration;
  private long generation;
  private DiscoveryLoop.Cancellable timer;

  WriteFence(boolean enabled, Duration timeout) {
    this.enabled = enabled;
    this.timeoutNanos = timeout.toNanos();
  }

  /**
   * Sentinel announced it is promoting {@code candidate} away from {@code master}. Returns the fence
   * raised, or null when fences are off, {@code master} is not the current master, or a fence already
   * holds this generation. The caller arms its timer ({@link #armed}) for {@link Fence#deadlineNanos()}.
   */
  Fence raise(HostAndPort current, HostAndPort master, HostAndPort candidate, long now) {
    if (!enabled || current == null || !current.equals(master) || holds(generation)) {
      return null;
    }
    Fence f = new Fence(generation, master, candidate, now, now + timeoutNanos);
    fence = f;
    openGeneration = -1;
    return f;
  }

  /** The timer that lifts the fence raised last at its deadline; cancelled when the fence lifts otherwise. */
  void armed(DiscoveryLoop.Cancellable lifter) {
    timer = lifter;
  }

  /** The fence to lift because Sentinel aborted the failover from {@code master}, or null. */
  Fence abortedFrom(HostAndPort master) {
    Fence f = fence;
    return f != null && f.master().equals(master) ? f : null;
  }

  /** Lifts {@code f} if it is still the fence; returns whether it was. */
  boolean lift(Fence f) {
    if (f == null || fence != f) {
      return false;
    }
    clear();
    return true;
  }

  /**
   * The snapshot's generation is now {@code g}. A fence on an older generation has done its work (the
   * promotion is proven, or the master is gone) and lifts; returns whether one did.
   */
  boolean published(long g) {
    generation = g;
    Fence f = fence;
    if (f != null && f.generation() != g) {
      clear();
      return true;
    }
    openGeneration = f == null ? g : -1;
    return false;
  }

  /** The discovery closed: no fence, and no connection opened before may send ({@code closedGeneration} is new). */
  void close(long closedGeneration) {
    generation = closedGeneration;
    clear();
  }

  /** Whether a fence holds generation {@code g}. */
  boolean holds(long g) {
    Fence f = fence;
    return f != null && f.generation() == g;
  }

  /** The generation whose master must not start commands, or -1. */
  long fencedGeneration() {
    Fence f = fence;
    return f == null ? -1 : f.generation();
  }

  /** The generation whose connections may send without asking anything: the current one when no fence holds it, else -1. */
  long openGeneration() {
    return openGeneration;
  }

  private void clear() {
    fence = null;
    openGeneration = generation;
    if (timer != null) {
      timer.cancel();
      timer = null;
    }
  }
}
