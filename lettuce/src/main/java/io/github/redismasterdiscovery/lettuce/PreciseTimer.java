package io.github.redismasterdiscovery.lettuce;

import io.netty.util.Timeout;
import io.netty.util.Timer;
import io.netty.util.TimerTask;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lettuce's timer, on a {@link ScheduledThreadPoolExecutor}: a reconnect scheduled 1 ms after a
 * switch runs 1 ms later. Lettuce's default, Netty's {@code HashedWheelTimer} with a 100 ms tick,
 * would run it up to 100 ms later, and a ticking wheel with a 1 ms tick wakes a thread a thousand
 * times a second while nothing happens. One daemon thread, {@code rmd-lettuce-timer}.
 */
final class PreciseTimer implements Timer {

  private static final Logger log = LoggerFactory.getLogger(PreciseTimer.class);

  private final ScheduledThreadPoolExecutor executor;
  private final Set<Entry> pending = ConcurrentHashMap.newKeySet();

  PreciseTimer() {
    executor = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "rmd-lettuce-timer");
      t.setDaemon(true);
      return t;
    });
    executor.setRemoveOnCancelPolicy(true);
  }

  @Override
  public Timeout newTimeout(TimerTask task, long delay, TimeUnit unit) {
    Entry e = new Entry(task);
    pending.add(e);
    e.future = executor.schedule(e::run, Math.max(0, delay), unit);
    return e;
  }

  @Override
  public Set<Timeout> stop() {
    Set<Timeout> left = Set.copyOf(pending);
    executor.shutdownNow();
    pending.clear();
    return left;
  }

  private final class Entry implements Timeout {
    private final TimerTask task;
    private volatile ScheduledFuture<?> future;
    private volatile boolean expired;

    Entry(TimerTask task) {
      this.task = task;
    }

    void run() {
      pending.remove(this);
      expired = true;
      try {
        task.run(this);
      } catch (Throwable t) { // as HashedWheelTimer does: a failing task does not stop the timer
        log.warn("A timer task threw", t);
      }
    }

    @Override
    public Timer timer() {
      return PreciseTimer.this;
    }

    @Override
    public TimerTask task() {
      return task;
    }

    @Override
    public boolean isExpired() {
      return expired;
    }

    @Override
    public boolean isCancelled() {
      ScheduledFuture<?> f = future;
      return f != null && f.isCancelled();
    }

    @Override
    public boolean cancel() {
      pending.remove(this);
      ScheduledFuture<?> f = future;
      return f != null && f.cancel(false);
    }
  }
}
