package io.github.redismasterdiscovery;

import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.LinkedTransferQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The threads every discovery in the JVM shares, so their number does not grow with the number of
 * discoveries: one timer thread that only hands work on (never blocks), a bounded pool for blocking
 * I/O (probes, Sentinel queries; threads end after a minute idle), and one thread that calls
 * listeners in order. Reference-counted: started by the first discovery, stopped with the last.
 *
 * <p>Sentinel subscriptions have their own thread per Sentinel address ({@link SentinelLinks}),
 * shared the same way, as a blocking subscription must never wait behind a probe.
 */
final class SharedRuntime {

  private static final Logger log = LoggerFactory.getLogger(SharedRuntime.class);

  /** At most this many blocking probes and queries at once, whatever the number of discoveries. */
  static final int IO_THREADS = 16;

  private static SharedRuntime instance;
  private static int users;

  final ScheduledExecutorService timer;
  final ExecutorService io;
  final ExecutorService listeners;
  /** Runs the pools' reactions to master changes, in order, apart from the application's listeners. */
  final ExecutorService followers;
  /** Sentinel heartbeats only: a heartbeat never queues behind probes, nor delays the timer if a socket write stalls. */
  final ExecutorService heartbeats;

  private SharedRuntime() {
    ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, Threads.named("rmd-timer"));
    t.setRemoveOnCancelPolicy(true);
    timer = t;
    io = growOnDemand(IO_THREADS, "rmd-io");
    listeners = new ThreadPoolExecutor(1, 1, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), Threads.named("rmd-listener"));
    ((ThreadPoolExecutor) listeners).allowCoreThreadTimeOut(true);
    heartbeats = new ThreadPoolExecutor(1, 1, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), Threads.named("rmd-heartbeat"));
    followers = new ThreadPoolExecutor(1, 1, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), Threads.named("rmd-follow"));
    ((ThreadPoolExecutor) followers).allowCoreThreadTimeOut(true);
    ((ThreadPoolExecutor) heartbeats).allowCoreThreadTimeOut(true);
  }

  /**
   * A pool that starts a thread only when no idle one can take the task (a plain
   * {@code ThreadPoolExecutor} starts a new core thread for every task until the core is full), up to
   * {@code max}; beyond that tasks queue. Idle threads end after a minute.
   */
  private static ThreadPoolExecutor growOnDemand(int max, String name) {
    LinkedTransferQueue<Runnable> queue = new LinkedTransferQueue<>() {
      private static final long serialVersionUID = 1L;

      @Override
      public boolean offer(Runnable task) {
        return tryTransfer(task); // only to a thread already waiting; else the pool starts one
      }
    };
    ThreadPoolExecutor pool = new ThreadPoolExecutor(0, max, 60, TimeUnit.SECONDS, queue, Threads.named(name), (task, executor) -> {
      if (executor.isShutdown()) {
        throw new RejectedExecutionException("shut down");
      }
      queue.put(task); // all threads busy: wait for the first free one
    });
    return pool;
  }

  static synchronized SharedRuntime acquire() {
    if (instance == null) {
      instance = new SharedRuntime();
    }
    users++;
    return instance;
  }

  static synchronized void release(SharedRuntime runtime) {
    if (runtime != instance || users == 0) {
      return;
    }
    if (--users == 0) {
      instance = null;
      runtime.shutdown();
    }
  }

  /** Runs {@code task} on the I/O pool; false when the runtime is shutting down. */
  boolean io(Runnable task) {
    return submit(io, task);
  }

  /** Runs {@code task} on the I/O pool after {@code delayNanos}; null when shutting down. */
  ScheduledFuture<?> later(long delayNanos, Runnable task) {
    try {
      return timer.schedule(() -> io(task), Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      return null;
    }
  }

  /**
   * Runs {@code task} on the timer thread itself after {@code delayNanos}; null when shutting down.
   * Only for tasks that never block (completing a future whose dependents only hand work on): a
   * give-up timer must fire on time even while the I/O pool is saturated by the work it guards.
   */
  ScheduledFuture<?> onTimer(long delayNanos, Runnable task) {
    try {
      return timer.schedule(task, Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      return null;
    }
  }

  /** Runs a Sentinel heartbeat on its own thread; false when shutting down. */
  boolean heartbeat(Runnable task) {
    return submit(heartbeats, task);
  }

  /** An executor that runs tasks on the I/O pool and drops them once the runtime is shut down. */
  Executor ioExecutor() {
    return this::io;
  }

  private static boolean submit(ExecutorService executor, Runnable task) {
    try {
      executor.execute(task);
      return true;
    } catch (RejectedExecutionException e) {
      return false;
    }
  }

  private void shutdown() {
    log.debug("stopping the shared rmd threads");
    Threads.shutdown(timer, 2_000);
    Threads.shutdown(listeners, 2_000);
    Threads.shutdown(heartbeats, 2_000);
    Threads.shutdown(followers, 2_000);
    Threads.shutdown(io, 2_000);
  }
}
