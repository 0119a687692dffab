package io.github.redismasterdiscovery.bench;

import io.github.redismasterdiscovery.FailoverConnectionProvider;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.ReadFrom;
import io.github.redismasterdiscovery.ReplicaReads;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.Connection;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.UnifiedJedis;

/**
 * GET throughput through {@link FailoverConnectionProvider} with reads on the master only versus
 * {@link ReadFrom#REPLICA_PREFERRED} (1 s staleness bound), 16 threads, the two interleaved round by
 * round after a warm-up round, and the share of GETs each node served (its {@code commandstats}).
 */
final class ReplicaReadsBench {

  static final ReadFrom[] MODES = {ReadFrom.MASTER, ReadFrom.REPLICA_PREFERRED};
  static final int THREADS = 16;
  private static final int KEYS = 1_000;

  final Map<ReadFrom, List<Double>> opsPerSecond = new EnumMap<>(ReadFrom.class);
  /** GETs served per node ("master", "replica 1", ...), summed over the recorded rounds. */
  final Map<ReadFrom, Map<String, Long>> served = new EnumMap<>(ReadFrom.class);

  void run(RedisHaTopology t, int rounds, int seconds) throws InterruptedException {
    RedisProcess master = t.awaitHealthy(Duration.ofSeconds(60));
    List<RedisProcess> nodes = new ArrayList<>();
    nodes.add(master);
    nodes.addAll(t.replicasOf(master));
    try (Jedis j = t.connect(master)) {
      for (int i = 0; i < KEYS; i++) {
        j.set("bench:" + i, "x".repeat(100));
      }
    }
    MasterDiscovery d = Clients.discovery(t);
    Map<ReadFrom, FailoverConnectionProvider> providers = new EnumMap<>(ReadFrom.class);
    Map<ReadFrom, UnifiedJedis> clients = new EnumMap<>(ReadFrom.class);
    try {
      for (ReadFrom mode : MODES) {
        GenericObjectPoolConfig<Connection> pool = new GenericObjectPoolConfig<>();
        pool.setMaxTotal(32);
        pool.setMaxIdle(32);
        pool.setMaxWait(Duration.ofSeconds(5));
        FailoverConnectionProvider provider = new FailoverConnectionProvider(d, pool, t.clientConfig(), ReplicaReads.from(mode));
        providers.put(mode, provider);
        clients.put(mode, new UnifiedJedis(provider)); // closing it closes the provider (Jedis' default executor does)
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (providers.get(ReadFrom.REPLICA_PREFERRED).readReplicas().size() < nodes.size() - 1) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("replicas not proven within 10 s: " + providers.get(ReadFrom.REPLICA_PREFERRED));
        }
        TimeUnit.MILLISECONDS.sleep(50);
      }
      for (int round = -1; round < rounds; round++) {
        for (int m = 0; m < MODES.length; m++) {
          ReadFrom mode = MODES[Math.floorMod(m + round, MODES.length)];
          for (RedisProcess node : nodes) {
            try (Jedis j = t.connect(node)) {
              j.configResetStat();
            }
          }
          double rate = measure(clients.get(mode), round < 0 ? 1 : seconds);
          if (round >= 0) {
            opsPerSecond.computeIfAbsent(mode, x -> new ArrayList<>()).add(rate);
            Map<String, Long> share = served.computeIfAbsent(mode, x -> new LinkedHashMap<>());
            for (int i = 0; i < nodes.size(); i++) {
              share.merge(i == 0 ? "master" : "replica " + i, gets(t, nodes.get(i)), Long::sum);
            }
          }
        }
        System.out.printf("replica reads: round %d of %d done%n", round + 1, rounds);
      }
    } finally {
      clients.values().forEach(UnifiedJedis::close);
      d.close();
    }
  }

  private static long gets(RedisHaTopology t, RedisProcess node) {
    try (Jedis j = t.connect(node)) {
      for (String line : j.info("commandstats").split("\r?\n")) {
        if (line.startsWith("cmdstat_get:calls=")) {
          return Long.parseLong(line.substring("cmdstat_get:calls=".length(), line.indexOf(',')));
        }
      }
      return 0;
    }
  }

  private static double measure(UnifiedJedis client, int seconds) throws InterruptedException {
    LongAdder done = new LongAdder();
    LongAdder failed = new LongAdder();
    AtomicBoolean measuring = new AtomicBoolean();
    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> workers = new ArrayList<>();
    for (int w = 0; w < THREADS; w++) {
      int seed = w;
      Thread th = new Thread(() -> {
        int i = seed * 7919;
        while (!stop.get()) {
          try {
            client.get("bench:" + (i++ % KEYS));
          } catch (RuntimeException e) {
            failed.increment();
            continue;
          }
          if (measuring.get()) {
            done.increment();
          }
        }
      });
      th.start();
      workers.add(th);
    }
    TimeUnit.MILLISECONDS.sleep(200); // every worker running before the window opens
    measuring.set(true);
    long t0 = System.nanoTime();
    TimeUnit.SECONDS.sleep(seconds);
    measuring.set(false);
    long elapsed = System.nanoTime() - t0;
    stop.set(true);
    for (Thread th : workers) {
      th.join();
    }
    if (failed.sum() > 0) {
      throw new IllegalStateException(failed.sum() + " GETs failed in a steady-state round: the numbers would not mean anything");
    }
    return done.sum() / (elapsed / 1e9);
  }

  /** The markdown section: throughput per mode and each node's share of the GETs. */
  String markdown() {
    StringBuilder md = new StringBuilder("## Reads from replicas\n\n")
        .append("GET of 100-byte values, ").append(THREADS).append(" threads, through `FailoverConnectionProvider` + `UnifiedJedis`: ")
        .append("reads on the master only (`ReadFrom.MASTER`) vs `ReadFrom.REPLICA_PREFERRED` (1 s staleness bound), interleaved ")
        .append("round by round after a warm-up round. Share: GETs each node served (`INFO commandstats`), all rounds. On this machine ")
        .append("every Redis process and the client share 2 cores, so moving reads to replicas shows where the load goes, not the ")
        .append("throughput a cluster of separate hosts would gain.\n\n")
        .append("| reads from | ops/s (median, min–max) | master | replica 1 | replica 2 |\n|---|---|---|---|---|\n");
    for (ReadFrom mode : MODES) {
      List<Double> r = opsPerSecond.get(mode);
      Map<String, Long> share = served.get(mode);
      if (r == null || share == null) {
        continue;
      }
      long total = share.values().stream().mapToLong(Long::longValue).sum();
      Stats st = Stats.of(r);
      md.append("| ").append(mode).append(" | ").append(String.format("%.0f (%.0f–%.0f)", st.p50(), st.min(), st.max()));
      for (long n : share.values()) {
        md.append(" | ").append(String.format("%.1f %%", total == 0 ? 0 : 100.0 * n / total));
      }
      md.append(" |\n");
    }
    return md.append('\n').toString();
  }
}
