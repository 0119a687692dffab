package io.github.redismasterdiscovery.bench;

import io.github.redismasterdiscovery.testkit.PromotionWatch;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.Jedis;

/**
 * Repeated failovers (kill -9 and SENTINEL FAILOVER) under one writer every 2 ms, per client:
 * (a) promotion of the new master (ROLE polled on the replicas every 1 ms) to the client's first
 * acknowledged write on it, (b) fault to that write, (c) errors surfaced to the caller, (d) writes
 * acknowledged after the promotion that the new master does not have: the old master took them
 * and loses them when it is demoted. Which server took a write is told afterwards by the keys
 * themselves (every key is unique): the same method for every client, nothing added to its calls.
 */
final class FailoverRecovery {

  static final Clients.Kind[] CLIENTS = {Clients.Kind.FAILOVER_JEDIS_POOL, Clients.Kind.FAILOVER_JEDIS_POOL_EXECUTE,
      Clients.Kind.JEDIS_SENTINEL_POOL, Clients.Kind.LETTUCE_MASTER_REPLICA, Clients.Kind.REDISSON_SENTINEL};
  static final String[] FAULTS = {"kill -9", "SENTINEL FAILOVER"};

  /** Per (client, fault): a, b, c, d per iteration. */
  final Map<String, List<double[]>> samples = new LinkedHashMap<>();
  /** Per (client, fault): iterations that could not be measured (printed with their cause). */
  final Map<String, Integer> failed = new LinkedHashMap<>();

  void run(int iterations) throws Exception {
    repeat("failover", CLIENTS, iterations, samples, failed, (t, client, fault, i) -> {
      double[] sample = once(t, client, fault, i);
      restore(t);
      return sample;
    });
  }

  /** One measured failover; it leaves the topology healthy for the next (see {@link #restore}). */
  interface Iteration<S> {
    S once(RedisHaTopology t, Clients.Client client, String fault, int iteration) throws Exception;
  }

  /**
   * Runs {@code iteration} {@code iterations} times per fault and client, on a fresh topology per
   * (client, fault) block and again after an iteration that could not be measured (counted in
   * {@code failed} under "client | fault", its cause printed).
   */
  static <S> void repeat(String section, Clients.Kind[] clients, int iterations, Map<String, List<S>> samples,
      Map<String, Integer> failed, Iteration<S> iteration) throws Exception {
    for (String fault : FAULTS) {
      for (Clients.Kind kind : clients) {
        String key = kind.label + " | " + fault;
        List<S> out = samples.computeIfAbsent(key, k -> new ArrayList<>());
        int done = 0;
        while (done < iterations) {
          try (RedisHaTopology t = RedisHaTopology.builder().labelLag(Duration.ofSeconds(1)).start();
              Clients.Client client = Clients.create(kind, t)) {
            for (; done < iterations; done++) {
              try {
                out.add(iteration.once(t, client, fault, done));
              } catch (RuntimeException e) {
                failed.merge(key, 1, Integer::sum);
                System.out.printf("%s: %s, %s: iteration %d not measured: %s%n", section, kind.label, fault, done, e);
                e.printStackTrace(System.out);
                done++;
                break;
              }
            }
          }
        }
        System.out.printf("%s: %s, %s: %d iterations done%n", section, kind.label, fault, iterations);
      }
    }
  }

  private record Ack(String key, long atNanos) {}

  private static double[] once(RedisHaTopology t, Clients.Client client, String fault, int iteration) throws Exception {
    RedisProcess old = t.awaitAgreedMaster(Duration.ofSeconds(30));
    List<RedisProcess> replicas = t.replicasOf(old);
    ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
    LongAdder errors = new LongAdder();
    AtomicBoolean countErrors = new AtomicBoolean();
    AtomicBoolean stop = new AtomicBoolean();
    Thread writer = new Thread(() -> {
      for (long n = 0; !stop.get(); n++) {
        String key = "fo" + iteration + ":" + n;
        try {
          client.set(key, "v");
          acks.add(new Ack(key, System.nanoTime()));
        } catch (RuntimeException e) {
          if (countErrors.get()) {
            errors.increment();
          }
        }
        LockSupport.parkNanos(2_000_000);
      }
    }, "bench-writer");
    writer.setDaemon(true);
    writer.start();
    RedisProcess next;
    long faultAt;
    PromotionWatch watch;
    try {
      TimeUnit.MILLISECONDS.sleep(300);
      watch = PromotionWatch.start(t, replicas, Duration.ofSeconds(20));
      countErrors.set(true);
      faultAt = System.nanoTime();
      if (fault.equals("kill -9")) {
        old.kill();
      } else {
        t.failover();
      }
      next = awaitNewMaster(t, old);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      // Until 50 writes are on the new master (a client that has not switched keeps writing to the old one).
      while (System.nanoTime() < deadline) {
        List<Ack> recent = acks.stream().filter(a -> a.atNanos() > watch.promotedAtNanos(Duration.ofSeconds(20))).collect(Collectors.toList());
        boolean[] onNew = exists(t, next, keys(recent));
        long count = 0;
        for (boolean b : onNew) {
          count += b ? 1 : 0;
        }
        if (count >= 50) {
          break;
        }
        TimeUnit.MILLISECONDS.sleep(100);
      }
    } finally {
      stop.set(true);
      writer.join(10_000);
    }
    long promotedAt = watch.promotedAtNanos(Duration.ofSeconds(20));
    List<Ack> afterPromotion = acks.stream().filter(a -> a.atNanos() > promotedAt).collect(Collectors.toList());
    boolean[] onNew = exists(t, next, keys(afterPromotion));
    long firstOnNew = Long.MAX_VALUE;
    long lost = 0;
    for (int i = 0; i < onNew.length; i++) {
      if (onNew[i]) {
        firstOnNew = Math.min(firstOnNew, afterPromotion.get(i).atNanos());
      } else {
        lost++;
      }
    }
    if (firstOnNew == Long.MAX_VALUE) {
      throw new IllegalStateException("no write reached the new master within 20 s of the Sentinels' agreement");
    }
    return new double[] {
        (firstOnNew - promotedAt) / 1e6,
        (firstOnNew - faultAt) / 1e6,
        errors.sum(),
        lost};
  }

  private static List<String> keys(List<Ack> acks) {
    return acks.stream().map(Ack::key).collect(Collectors.toList());
  }

  /** Which of {@code keys} the node holds, asked with pipelined EXISTS. */
  static boolean[] exists(RedisHaTopology t, RedisProcess node, List<String> keys) {
    boolean[] out = new boolean[keys.size()];
    try (Jedis j = t.connect(node)) {
      Pipeline p = j.pipelined();
      List<Response<Boolean>> answers = new ArrayList<>();
      for (String key : keys) {
        answers.add(p.exists(key));
      }
      p.sync();
      for (int i = 0; i < out.length; i++) {
        out[i] = answers.get(i).get();
      }
    }
    return out;
  }

  /** Brings the old master back as a replica so every iteration starts from 1 master + 2 healthy replicas. */
  static void restore(RedisHaTopology t) throws InterruptedException {
    RedisProcess master = t.awaitAgreedMaster(Duration.ofSeconds(30));
    for (RedisProcess node : t.nodes()) {
      if (!node.isRunning()) {
        node.start(); // comes back believing it is master; Sentinel converts it
      }
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    for (RedisProcess node : t.replicasOf(master)) {
      while (t.role(node).equals("master") && System.nanoTime() < deadline) {
        // After SENTINEL FAILOVER Sentinel demotes the old master only at its next 10 s INFO poll;
        // do it now, as an operator would, so the next iteration starts clean. Not part of any measurement.
        try (Jedis j = t.connect(node)) {
          j.replicaof(master.address().getHost(), master.address().getPort());
        } catch (RuntimeException e) {
          TimeUnit.MILLISECONDS.sleep(20);
        }
      }
    }
    t.awaitHealthy(Duration.ofSeconds(60));
  }

  static RedisProcess awaitNewMaster(RedisHaTopology t, RedisProcess old) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      try {
        RedisProcess m = t.awaitAgreedMaster(Duration.ofSeconds(30));
        if (m != old) {
          return m;
        }
      } catch (IllegalStateException e) {
        // Sentinels still disagree
      }
      TimeUnit.MILLISECONDS.sleep(10);
    }
    throw new IllegalStateException("no new master within 30 s");
  }
}
