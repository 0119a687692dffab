package io.github.redismasterdiscovery.lettuce;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;

/**
 * Writer threads on one Lettuce connection, each a {@code SET} of a unique key about every 2 ms, one
 * command at a time, through the sync, async or reactive API; every acknowledgment and every error
 * surfaced is recorded.
 */
final class Writers {

  enum Api { SYNC, ASYNC, REACTIVE }

  record Ack(String key, long atNanos) {}

  record Failure(Api api, Throwable error, long atNanos) {}

  final ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
  final ConcurrentLinkedQueue<Failure> failures = new ConcurrentLinkedQueue<>();
  final AtomicLong attempts = new AtomicLong();
  private final AtomicBoolean stop = new AtomicBoolean();
  private final List<Thread> threads = new ArrayList<>();

  private Writers() {}

  static Writers start(StatefulRedisConnection<String, String> connection, Api... apis) {
    Writers w = new Writers();
    for (Api api : apis) {
      String prefix = api.name().toLowerCase() + ":";
      Thread th = new Thread(() -> {
        for (long n = 0; !w.stop.get(); n++) {
          String key = prefix + n;
          w.attempts.incrementAndGet();
          try {
            switch (api) {
              case SYNC -> connection.sync().set(key, "v");
              case ASYNC -> connection.async().set(key, "v").toCompletableFuture().get(30, TimeUnit.SECONDS);
              case REACTIVE -> connection.reactive().set(key, "v").block(Duration.ofSeconds(30));
            }
            w.acks.add(new Ack(key, System.nanoTime()));
          } catch (Exception e) {
            Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
            w.failures.add(new Failure(api, cause, System.nanoTime()));
          }
          LockSupport.parkNanos(2_000_000);
        }
      }, "writer-" + api);
      th.start();
      w.threads.add(th);
    }
    return w;
  }

  long ackedAfter(long nanos) {
    return acks.stream().filter(a -> a.atNanos() > nanos).count();
  }

  /** The first acknowledgment after {@code nanos}, in nanoseconds after it. */
  long firstAckAfter(long nanos) {
    return acks.stream().mapToLong(Ack::atNanos).filter(t -> t > nanos).min().orElseThrow() - nanos;
  }

  /** The longest time without any acknowledgment, between {@code fromNanos} and the last ack. */
  long longestPauseAfter(long fromNanos) {
    List<Long> times = acks.stream().map(Ack::atNanos).filter(t -> t > fromNanos).sorted().collect(Collectors.toList());
    long prev = fromNanos;
    long longest = 0;
    for (long t : times) {
      longest = Math.max(longest, t - prev);
      prev = t;
    }
    return longest;
  }

  public void close() throws InterruptedException {
    stop.set(true);
    for (Thread th : threads) {
      th.join(45_000);
      assertThat(th.isAlive()).as("%s stuck", th.getName()).isFalse();
    }
  }

  /**
   * Acknowledged keys missing from {@code node}. Tests pass the master the Sentinels agree on at the end:
   * on a loaded machine Sentinel sometimes fails over once more by itself, and the last master holds
   * everything its predecessors replicated.
   */
  List<String> missingOn(RedisHaTopology t, RedisProcess node) {
    List<Ack> all = new ArrayList<>(acks);
    List<String> out = new ArrayList<>();
    try (Jedis jedis = t.connect(node)) {
      Pipeline p = jedis.pipelined();
      List<Response<Boolean>> answers = new ArrayList<>(all.size());
      for (Ack a : all) {
        answers.add(p.exists(a.key()));
      }
      p.sync();
      for (int i = 0; i < all.size(); i++) {
        if (!answers.get(i).get()) {
          out.add(all.get(i).key());
        }
      }
    }
    return out;
  }

  String failureSummary() {
    return failures.stream().map(f -> f.api() + " " + f.error().getClass().getSimpleName() + ": " + f.error().getMessage())
        .distinct().limit(10).collect(Collectors.joining("\n  "));
  }
}
