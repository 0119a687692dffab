package io.github.redismasterdiscovery.bench;

import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import redis.clients.jedis.Jedis;

/**
 * GET and SET of 100-byte values at 1, 4 and 16 threads, the three clients interleaved round by
 * round (client order rotated each round) against the same master, after a warm-up round. Records
 * throughput per round and every operation's latency (borrow, command, return) in an HdrHistogram.
 */
final class SteadyState {

  static final int[] THREADS = {1, 4, 16};
  static final String[] OPS = {"GET", "SET"};
  static final Clients.Kind[] CLIENTS = {Clients.Kind.FAILOVER_JEDIS_POOL, Clients.Kind.JEDIS_POOL, Clients.Kind.JEDIS_SENTINEL_POOL};
  private static final String VALUE = "x".repeat(100);
  private static final int KEYS = 1_000;

  /** ops/s per round, by case ("GET x4") and client. */
  final Map<String, Map<Clients.Kind, List<Double>>> opsPerSecond = new LinkedHashMap<>();
  /** p99 latency per round (µs), by case and client: the ratio is taken round by round, like throughput. */
  final Map<String, Map<Clients.Kind, List<Double>>> p99PerRound = new LinkedHashMap<>();
  /** Latency over all rounds (µs), by case and client. */
  final Map<String, Map<Clients.Kind, Histogram>> latency = new LinkedHashMap<>();

  void run(RedisHaTopology t, int rounds, int seconds) throws InterruptedException {
    Map<Clients.Kind, Clients.JedisClient> clients = new EnumMap<>(Clients.Kind.class);
    for (Clients.Kind k : CLIENTS) {
      clients.put(k, Clients.jedis(k, t));
    }
    try {
      try (Jedis j = t.connect(t.master())) {
        for (int i = 0; i < KEYS; i++) {
          j.set("bench:" + i, VALUE);
        }
      }
      for (int round = -1; round < rounds; round++) { // round -1 is the warm-up, not recorded
        for (String op : OPS) {
          for (int threads : THREADS) {
            String key = op + " x" + threads;
            for (int c = 0; c < CLIENTS.length; c++) {
              Clients.Kind kind = CLIENTS[Math.floorMod(c + round, CLIENTS.length)];
              Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
              double rate = measure(clients.get(kind), op, threads, round < 0 ? 1 : seconds, h);
              if (round >= 0) {
                opsPerSecond.computeIfAbsent(key, x -> new EnumMap<>(Clients.Kind.class)).computeIfAbsent(kind, x -> new ArrayList<>()).add(rate);
                p99PerRound.computeIfAbsent(key, x -> new EnumMap<>(Clients.Kind.class)).computeIfAbsent(kind, x -> new ArrayList<>())
                    .add(h.getValueAtPercentile(99) / 1e3);
                latency.computeIfAbsent(key, x -> new EnumMap<>(Clients.Kind.class))
                    .computeIfAbsent(kind, x -> new Histogram(TimeUnit.SECONDS.toNanos(10), 3)).add(h);
              }
            }
          }
        }
        System.out.printf("steady state: round %d of %d done%n", round + 1, rounds);
      }
    } finally {
      clients.values().forEach(Clients.Client::close);
    }
  }

  private static double measure(Clients.JedisClient client, String op, int threads, int seconds, Histogram histogram)
      throws InterruptedException {
    LongAdder done = new LongAdder();
    Recorder recorder = new Recorder(3);
    AtomicBoolean measuring = new AtomicBoolean();
    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> workers = new ArrayList<>();
    for (int w = 0; w < threads; w++) {
      int seed = w;
      Thread th = new Thread(() -> {
        int i = seed * 7919;
        while (!stop.get()) {
          String key = "bench:" + (i++ % KEYS);
          long start = System.nanoTime();
          try (Jedis j = client.pool.getResource()) {
            if (op.equals("GET")) {
              j.get(key);
            } else {
              j.set(key, VALUE);
            }
          }
          if (measuring.get()) {
            recorder.recordValue(System.nanoTime() - start);
            done.increment();
          }
        }
      });
      th.start();
      workers.add(th);
    }
    TimeUnit.MILLISECONDS.sleep(200); // every worker running before the window opens
    recorder.reset();
    measuring.set(true);
    long t0 = System.nanoTime();
    TimeUnit.SECONDS.sleep(seconds);
    measuring.set(false);
    long elapsed = System.nanoTime() - t0;
    histogram.add(recorder.getIntervalHistogram());
    stop.set(true);
    for (Thread th : workers) {
      th.join();
    }
    return done.sum() / (elapsed / 1e9);
  }
}
