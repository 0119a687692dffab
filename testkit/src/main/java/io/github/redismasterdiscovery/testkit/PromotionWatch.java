package io.github.redismasterdiscovery.testkit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import redis.clients.jedis.Jedis;

/**
 * Times a failover from the servers' side: polls {@code ROLE} on the given replicas every
 * millisecond, on its own daemon thread, and records when one first answers master. Reconnects when
 * Sentinel's failover kills client connections. Start it before the fault.
 */
public final class PromotionWatch {

  private final AtomicLong promotedAt = new AtomicLong();
  private final AtomicReference<RedisProcess> promoted = new AtomicReference<>();
  private final Thread thread;

  private PromotionWatch(RedisHaTopology topology, List<RedisProcess> replicas, Duration limit) {
    long deadline = System.nanoTime() + limit.toNanos();
    thread = new Thread(() -> {
      while (System.nanoTime() < deadline) {
        List<Jedis> connections = new ArrayList<>();
        try {
          for (RedisProcess r : replicas) {
            connections.add(topology.connect(r));
          }
          while (System.nanoTime() < deadline) {
            for (int i = 0; i < connections.size(); i++) {
              if ("master".equals(String.valueOf(connections.get(i).role().get(0)))) {
                promoted.set(replicas.get(i));
                promotedAt.set(System.nanoTime());
                return;
              }
            }
            LockSupport.parkNanos(1_000_000);
          }
        } catch (RuntimeException e) {
          // Sentinel's failover runs CLIENT KILL TYPE normal: reconnect
        } finally {
          connections.forEach(Jedis::close);
        }
      }
    }, "rmd-testkit-promotion-watch");
    thread.setDaemon(true);
    thread.start();
  }

  /** Starts watching {@code replicas} for up to {@code limit}. */
  public static PromotionWatch start(RedisHaTopology topology, List<RedisProcess> replicas, Duration limit) {
    return new PromotionWatch(topology, List.copyOf(replicas), limit);
  }

  /**
   * The {@link System#nanoTime()} at which a replica first answered master, waiting up to {@code timeout}.
   *
   * @throws IllegalStateException when no promotion was seen
   */
  public long promotedAtNanos(Duration timeout) {
    try {
      thread.join(TimeUnit.NANOSECONDS.toMillis(timeout.toNanos()) + 1);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    long at = promotedAt.get();
    if (at == 0) {
      throw new IllegalStateException("no replica was promoted within the watch");
    }
    return at;
  }

  /** The replica that answered master first, waiting up to {@code timeout} (see {@link #promotedAtNanos}). */
  public RedisProcess promoted(Duration timeout) {
    promotedAtNanos(timeout);
    return promoted.get();
  }
}
