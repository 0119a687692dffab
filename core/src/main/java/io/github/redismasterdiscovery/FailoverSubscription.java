package io.github.redismasterdiscovery;

import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPubSub;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisException;

/**
 * A pub/sub subscription that follows the master: made by {@link FailoverJedisPool#subscribe} or
 * {@link FailoverJedisPool#psubscribe}, it runs the application's {@link JedisPubSub} on a thread of
 * its own and, when the master changes (or its connection breaks), subscribes the same channels or
 * patterns again on the new master at once: the pool closes a subscription on a replaced master the
 * moment the new one is published, and the next connection is borrowed from the pool, which waits
 * for a verified master. Messages published while no subscription exists (between the old master's
 * end and the new subscription) are not delivered: that is pub/sub. {@link #lastGap()} says how long
 * the last gap was; each is also logged at INFO.
 *
 * <p>The subscription ends when {@link #close()} is called (the reliable way: it works in a gap
 * between two subscriptions too), when its pool is closed, or when the application unsubscribes
 * everything through its {@code JedisPubSub} while it is subscribed. A {@code JedisPubSub} callback
 * that throws ends that subscription only: it is logged and the next one starts. The connection that
 * carried a subscription is never pooled again.
 */
public final class FailoverSubscription implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(FailoverSubscription.class);
  private static final AtomicLong THREADS = new AtomicLong();
  /** Between attempts that failed for a reason other than the master (a refused AUTH, say), so a misconfiguration does not spin. */
  private static final Duration RETRY_PAUSE = Duration.ofSeconds(1);

  private final FailoverJedisPool pool;
  private final JedisPubSub pubSub;
  private final boolean patterns;
  private final String[] names;
  private final Thread thread;
  private final AtomicLong resubscriptions = new AtomicLong();
  private volatile boolean closed;
  private volatile Duration lastGap;
  private volatile Jedis current;
  private volatile java.util.function.Consumer<FailoverSubscription> onEnd = s -> { };

  private FailoverSubscription(FailoverJedisPool pool, JedisPubSub pubSub, boolean patterns, String[] names) {
    this.pool = pool;
    this.pubSub = pubSub;
    this.patterns = patterns;
    this.names = names;
    this.thread = new Thread(this::run, "rmd-subscription-" + THREADS.incrementAndGet());
    this.thread.setDaemon(true);
  }

  static FailoverSubscription start(FailoverJedisPool pool, JedisPubSub pubSub, boolean patterns, String... names) {
    if (pubSub == null) {
      throw new NullPointerException("pubSub");
    }
    if (names == null || names.length == 0 || Arrays.stream(names).anyMatch(n -> n == null || n.isEmpty())) {
      throw new IllegalArgumentException((patterns ? "patterns" : "channels") + " must be one or more non-empty names, were "
          + Arrays.toString(names));
    }
    FailoverSubscription s = new FailoverSubscription(pool, pubSub, patterns, names.clone());
    s.thread.start();
    return s;
  }

  /** Called once when the subscription ends, whatever ends it (its pool forgets it). */
  void onEnd(java.util.function.Consumer<FailoverSubscription> callback) {
    onEnd = callback;
  }

  private void run() {
    try {
      follow();
    } finally {
      closed = true;
      onEnd.accept(this);
    }
  }

  private void follow() {
    long brokeAt = 0; // nanoTime when the previous subscription ended, 0 for the first
    String brokeWhy = null;
    while (!closed && !pool.isClosed()) {
      Jedis jedis;
      try {
        jedis = pool.getResource();
      } catch (JedisException e) {
        if (!closed) {
          log.warn("Redis subscription to {}: no connection to the master yet ({}); trying again", describe(), e.getMessage());
          pause();
        }
        continue;
      }
      try (jedis) {
        current = jedis;
        if (closed) {
          return;
        }
        if (brokeAt != 0) {
          lastGap = Duration.ofNanos(System.nanoTime() - brokeAt);
          resubscriptions.incrementAndGet();
          log.info("Redis subscription to {} made again on {}, {} ms after it ended ({})", describe(), jedis.getConnection(),
              lastGap.toMillis(), brokeWhy);
        }
        if (patterns) {
          jedis.psubscribe(pubSub, names);
        } else {
          jedis.subscribe(pubSub, names);
        }
        return; // the application unsubscribed everything
      } catch (MasterChangedException e) {
        brokeAt = System.nanoTime();
        brokeWhy = "the master changed";
      } catch (JedisConnectionException e) {
        brokeAt = System.nanoTime();
        brokeWhy = "connection lost: " + e.getMessage();
      } catch (JedisException e) {
        if (closed) {
          return;
        }
        brokeAt = System.nanoTime();
        brokeWhy = e.getMessage();
        log.warn("Redis subscription to {} failed ({}); subscribing again in {} ms", describe(), e.getMessage(), RETRY_PAUSE.toMillis());
        pause();
      } catch (RuntimeException e) { // the application's JedisPubSub threw: that subscription ended, the next one starts
        if (closed) {
          return;
        }
        brokeAt = System.nanoTime();
        brokeWhy = "the JedisPubSub threw " + e;
        log.warn("Redis subscription to {}: the application's JedisPubSub threw; subscribing again", describe(), e);
      } finally {
        current = null;
      }
    }
  }

  private void pause() {
    try {
      TimeUnit.NANOSECONDS.sleep(RETRY_PAUSE.toNanos());
    } catch (InterruptedException e) {
      closed = true;
      Thread.currentThread().interrupt();
    }
  }

  private String describe() {
    return (patterns ? "patterns " : "channels ") + String.join(", ", names);
  }

  /** Whether the subscription is in place now (subscribed on the master). */
  public boolean isSubscribed() {
    return current != null && pubSub.isSubscribed();
  }

  /** How many times the subscription was made again after its master changed or its connection broke. */
  public long resubscriptions() {
    return resubscriptions.get();
  }

  /**
   * The last gap: from the moment a subscription ended (its master replaced, its connection lost)
   * to the moment it was sent again on the new master; empty before the first.
   */
  public java.util.Optional<Duration> lastGap() {
    return java.util.Optional.ofNullable(lastGap);
  }

  /**
   * Ends the subscription: unsubscribes, and waits up to {@code timeout} for its thread to end.
   *
   * @return whether the thread ended within the timeout
   */
  public boolean close(Duration timeout) {
    closed = true;
    Jedis jedis = current;
    if (jedis != null) {
      try {
        if (patterns) {
          pubSub.punsubscribe();
        } else {
          pubSub.unsubscribe();
        }
      } catch (RuntimeException e) {
        ((FollowingConnection) jedis.getConnection()).cut("subscription closed by the application");
      }
    }
    thread.interrupt();
    try {
      thread.join(Math.max(1, timeout.toMillis()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (thread.isAlive() && jedis != null) {
      ((FollowingConnection) jedis.getConnection()).cut("subscription closed by the application");
    }
    return !thread.isAlive();
  }

  /** Ends the subscription, waiting up to 5 s for its thread. */
  @Override
  public void close() {
    close(Duration.ofSeconds(5));
  }

  @Override
  public String toString() {
    return "FailoverSubscription{" + describe() + ", subscribed=" + isSubscribed() + ", resubscriptions=" + resubscriptions
        + ", lastGap=" + lastGap + "}";
  }
}
