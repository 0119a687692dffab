package io.github.redismasterdiscovery.spring.lettuce;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;

/**
 * Writer threads, one write every 2 ms each, that record every key the application acknowledged
 * and every error: what the Spring-on-Lettuce failover tests count lost writes and errors from.
 */
final class AckedWrites {

  record Ack(String key, long atNanos) {}

  /** One write: returns the key that was acknowledged, or throws (recorded as an error). */
  interface Write {
    String attempt(long n) throws Exception;
  }

  final ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
  final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean stop = new AtomicBoolean();
  private final List<Thread> threads = new ArrayList<>();

  /** Adds a writer thread, started by {@link #start()}. */
  AckedWrites writer(String threadName, Write write) {
    threads.add(new Thread(() -> {
      for (long n = 0; !stop.get(); n++) {
        try {
          acks.add(new Ack(write.attempt(n), System.nanoTime()));
        } catch (Exception e) {
          errors.add(e.toString());
        }
        LockSupport.parkNanos(2_000_000);
      }
    }, threadName));
    return this;
  }

  AckedWrites start() {
    threads.forEach(Thread::start);
    return this;
  }

  long ackedAfter(long nanos) {
    return acks.stream().filter(a -> a.atNanos() > nanos).count();
  }

  void close() throws InterruptedException {
    stop.set(true);
    for (Thread th : threads) {
      th.join(45_000);
      assertThat(th.isAlive()).as("%s stuck", th.getName()).isFalse();
    }
  }

  /** The acknowledged keys {@code node} does not hold. */
  Set<String> missingOn(RedisHaTopology t, RedisProcess node) {
    List<Ack> all = new ArrayList<>(acks);
    Set<String> out = new HashSet<>();
    try (Jedis jedis = t.connect(node)) {
      Pipeline p = jedis.pipelined();
      List<Response<Boolean>> answers = new ArrayList<>();
      all.forEach(a -> answers.add(p.exists(a.key())));
      p.sync();
      for (int i = 0; i < all.size(); i++) {
        if (!answers.get(i).get()) {
          out.add(all.get(i).key());
        }
      }
    }
    return out;
  }
}
