package io.github.redismasterdiscovery.examples;

import io.github.redismasterdiscovery.FailoverJedisPool;
import io.github.redismasterdiscovery.LabelPreset;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.testkit.PromotionWatch;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPool;
import redis.clients.jedis.JedisSentinelPool;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.util.Pool;

/**
 * The library's main job, locally, side by side with Jedis' own Sentinel pool: starts a real Redis
 * HA topology (1 master, 2 replicas, 3 Sentinels, a Kubernetes API whose {@code isMaster} label lags
 * Sentinel by 1 s), writes through a {@link FailoverJedisPool} and a {@link JedisSentinelPool} at
 * once, {@code kill -9}s the master, then asks Sentinel for a planned failover, and prints for each
 * a timeline (per 100 ms: writes acknowledged and failed, for each pool) and a summary: the longest
 * gap, errors, the first write on the new master after its promotion, and acknowledged writes that
 * were lost. Run: {@code ./mvnw -B -q install -DskipTests && ./mvnw -B -q -pl examples exec:java}.
 */
public final class FailoverDemo {

  public static final int THREADS_PER_POOL = 2;
  static final long BUCKET_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  private static final String LEVELS = " .:-=+*#";

  private FailoverDemo() {}

  /** What happened to one pool through one fault. */
  public record Result(String pool, long longestGapMs, int errors, long firstOnNewMs, int lost, int[] ok, int[] failed, int[] lostAt) {}

  public static void main(String[] args) throws Exception {
    run(System.out);
  }

  /** Runs both faults and prints the story to {@code out}; returns the results, kill -9 first (for tests). */
  public static List<Result> run(PrintStream out) throws Exception {
    out.print(LEGEND);
    out.println("starting 3 redis-server + 3 Sentinels on loopback and a Kubernetes mock API ...");
    List<Result> results = new ArrayList<>();
    try (RedisHaTopology redis = RedisHaTopology.builder().labelLag(Duration.ofSeconds(1)).start();
        MasterDiscovery discovery = MasterDiscovery.builder()
            .kubernetesLabels(LabelPreset.BITNAMI)
            .namespace(redis.kubernetes().namespace())
            .kubernetesClient(redis.kubernetes().newClient())
            .sentinels(redis.sentinelAddresses())
            .masterName(redis.masterName())
            .clientConfig(redis.clientConfig())
            .build()) {
      out.printf("topology up in %d ms; master %s%n", redis.startMillis(), discovery.awaitMaster(Duration.ofSeconds(10)));
      GenericObjectPoolConfig<Jedis> poolConfig = new GenericObjectPoolConfig<>();
      poolConfig.setMaxWait(Duration.ofSeconds(5));
      try (JedisPool ours = new FailoverJedisPool(discovery, poolConfig, redis.clientConfig());
          JedisSentinelPool theirs = new JedisSentinelPool(redis.masterName(), new HashSet<>(redis.sentinelAddresses()), poolConfig,
              redis.clientConfig(), redis.sentinelClientConfig())) {
        results.addAll(fault(out, redis, "kill -9", ours, theirs));
        long waitFrom = System.nanoTime();
        out.println("waiting for the killed master to come back as a replica and catch up (about 20 s) ...");
        redis.awaitHealthy(Duration.ofSeconds(60));
        out.printf("  ready after %.1f s%n", (System.nanoTime() - waitFrom) / 1e9);
        results.addAll(fault(out, redis, "SENTINEL FAILOVER", ours, theirs));
      }
    }
    return results;
  }

  /** Printed first, so the timelines read at a glance. */
  public static final String LEGEND = String.join(System.lineSeparator(),
      "How to read the timelines below: one column per 100 ms, from half a second before the fault.",
      "  s after fault  the seconds since the fault (0 is the fault's column)",
      "  events         F the fault, P the promotion (the replica answers ROLE master)",
      "  ok             acknowledged writes of that pool, from few to many: " + LEVELS.substring(1),
      "  err            x = failed writes",
      "  lost           ! = writes acknowledged, then lost with the old master",
      "  new            ^ = the pool's first write acknowledged on the new master",
      "");

  private record Ack(String key, long atNanos) {}

  private static final class Writers {
    final ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<Long> errors = new ConcurrentLinkedQueue<>();
    final AtomicBoolean stop = new AtomicBoolean();
    final List<Thread> threads = new ArrayList<>();

    Writers(String name, Pool<Jedis> pool, String fault) {
      for (int w = 0; w < THREADS_PER_POOL; w++) {
        String prefix = name + ":" + fault + ":" + w + ":";
        Thread t = new Thread(() -> {
          for (long n = 0; !stop.get(); n++) {
            try (Jedis j = pool.getResource()) { // plain JedisPool code: no retries of our own
              j.set(prefix + n, "v");
              acks.add(new Ack(prefix + n, System.nanoTime()));
            } catch (RuntimeException e) {
              errors.add(System.nanoTime());
            }
            LockSupport.parkNanos(2_000_000);
          }
        }, "demo-" + name + "-" + w);
        t.setDaemon(true);
        t.start();
        threads.add(t);
      }
    }

    void stop() throws InterruptedException {
      stop.set(true);
      for (Thread t : threads) {
        t.join(10_000);
      }
    }
  }

  private static List<Result> fault(PrintStream out, RedisHaTopology redis, String fault, Pool<Jedis> ours, Pool<Jedis> theirs)
      throws Exception {
    RedisProcess old = redis.awaitAgreedMaster(Duration.ofSeconds(30));
    out.printf("%n== %s of the master %s, under 2 writers per pool (a SET every 2 ms each) ==%n", fault, old.address());
    Writers a = new Writers("rmd", ours, fault);
    Writers b = new Writers("jedis", theirs, fault);
    TimeUnit.MILLISECONDS.sleep(500); // a calm half second before the fault, on the timeline
    PromotionWatch watch = PromotionWatch.start(redis, redis.replicasOf(old), Duration.ofSeconds(30));
    long faultAt = System.nanoTime();
    if (fault.equals("kill -9")) {
      old.kill();
    } else {
      redis.failover();
    }
    long promotedAt = watch.promotedAtNanos(Duration.ofSeconds(30));
    RedisProcess next = watch.promoted(Duration.ZERO); // the Sentinels name it only about a second later
    out.printf("  %s promoted %d ms after the fault; writing until both pools have written to it (10 s at most) ...%n", next.address(),
        (promotedAt - faultAt) / 1_000_000);
    // Whole lines only: the library's own log lines go to the same console.
    for (int i = 1; i <= 20 && !(onNew(redis, next, a, promotedAt) && onNew(redis, next, b, promotedAt)); i++) {
      TimeUnit.MILLISECONDS.sleep(500);
      if (i % 4 == 0) {
        List<String> waiting = new ArrayList<>();
        if (!onNew(redis, next, a, promotedAt)) {
          waiting.add("redis-master-discovery");
        }
        if (!onNew(redis, next, b, promotedAt)) {
          waiting.add("JedisSentinelPool");
        }
        out.printf("  ... %d s after the promotion, no write on the new master yet from %s%n", i / 2, String.join(" and ", waiting));
      }
    }
    TimeUnit.MILLISECONDS.sleep(500); // and a little more timeline
    a.stop();
    b.stop();
    if (fault.equals("kill -9")) {
      old.start(); // back as a replica, for the next fault
    } else {
      // Sentinel demotes the old master only at its next INFO poll; what it accepted meanwhile is gone after that.
      try (Jedis j = redis.connect(old)) {
        j.replicaof(next.address().getHost(), next.address().getPort());
      }
    }
    Result r = result("redis-master-discovery", redis, next, a, faultAt, promotedAt);
    Result j = result("JedisSentinelPool", redis, next, b, faultAt, promotedAt);
    print(out, faultAt, promotedAt, r, j);
    return List.of(r, j);
  }

  private static boolean onNew(RedisHaTopology redis, RedisProcess next, Writers w, long promotedAt) {
    List<Ack> recent = w.acks.stream().filter(x -> x.atNanos() > promotedAt).toList();
    for (boolean b : exists(redis, next, recent)) {
      if (b) {
        return true;
      }
    }
    return false;
  }

  private static boolean[] exists(RedisHaTopology redis, RedisProcess node, List<Ack> acks) {
    boolean[] out = new boolean[acks.size()];
    try (Jedis j = redis.connect(node)) {
      Pipeline p = j.pipelined();
      List<Response<Boolean>> answers = new ArrayList<>();
      acks.forEach(x -> answers.add(p.exists(x.key())));
      p.sync();
      for (int i = 0; i < out.length; i++) {
        out[i] = answers.get(i).get();
      }
    }
    return out;
  }

  private static Result result(String name, RedisHaTopology redis, RedisProcess next, Writers w, long faultAt, long promotedAt) {
    long start = faultAt - TimeUnit.MILLISECONDS.toNanos(500);
    List<Ack> acks = new ArrayList<>(w.acks);
    long last = start;
    long gap = 0;
    for (Ack x : acks) {
      if (x.atNanos() >= faultAt) {
        gap = Math.max(gap, x.atNanos() - last);
      }
      last = Math.max(last, x.atNanos());
    }
    List<Ack> afterPromotion = acks.stream().filter(x -> x.atNanos() > promotedAt).toList();
    boolean[] onNew = exists(redis, next, afterPromotion);
    int buckets = (int) ((last - start) / BUCKET_NANOS) + 1;
    int[] ok = new int[buckets];
    int[] failed = new int[buckets];
    int[] lostAt = new int[buckets];
    long firstOnNew = Long.MAX_VALUE;
    int lost = 0;
    for (int i = 0; i < onNew.length; i++) {
      if (onNew[i]) {
        firstOnNew = Math.min(firstOnNew, afterPromotion.get(i).atNanos());
      } else {
        lost++;
        lostAt[bucket(afterPromotion.get(i).atNanos(), start, buckets)]++;
      }
    }
    acks.forEach(x -> ok[bucket(x.atNanos(), start, buckets)]++);
    w.errors.forEach(t -> failed[bucket(t, start, buckets)]++);
    return new Result(name, gap / 1_000_000, w.errors.size(), firstOnNew == Long.MAX_VALUE ? -1 : (firstOnNew - promotedAt) / 1_000_000, lost,
        ok, failed, lostAt);
  }

  private static int bucket(long at, long start, int buckets) {
    return (int) Math.max(0, Math.min(buckets - 1, (at - start) / BUCKET_NANOS));
  }

  /** A timeline row: two spaces, the pool's name (or the row's title), the row's label, then one column per 100 ms. */
  public static final String ROW = "  %-22s %-4s %s%n";
  /** Where every row's first 100 ms column is printed. */
  public static final int FIRST_COLUMN = String.format(ROW, "", "", "").length() - System.lineSeparator().length();
  /** The fault's column: the timeline starts half a second before it. */
  public static final int FAULT_COLUMN = 5;

  private static void print(PrintStream out, long faultAt, long promotedAt, Result r, Result j) {
    long start = faultAt - TimeUnit.MILLISECONDS.toNanos(500);
    int width = Math.max(r.ok().length, j.ok().length);
    StringBuilder b = new StringBuilder();
    char[] seconds = " ".repeat(width).toCharArray();
    for (int c = FAULT_COLUMN, s = 0; c < width; c += 10, s++) {
      seconds[c] = s < 10 ? (char) ('0' + s) : '|';
    }
    b.append(String.format(ROW, "s after fault", "", new String(seconds)));
    int faultColumn = column(faultAt, start);
    int promotionColumn = column(promotedAt, start);
    char[] events = " ".repeat(width).toCharArray();
    mark(events, faultColumn, 'F');
    if (promotionColumn == faultColumn) { // within the same 100 ms: a second row, so both show
      b.append(String.format(ROW, "events", "", new String(events)));
      events = " ".repeat(width).toCharArray();
    }
    mark(events, promotionColumn, 'P');
    b.append(String.format(ROW, "events", "", new String(events)));
    for (Result x : List.of(r, j)) {
      b.append(String.format(ROW, x.pool(), "ok", levels(x.ok(), width)));
      b.append(String.format(ROW, "", "err", marks(x.failed(), width, 'x')));
      if (x.lost() > 0) {
        b.append(String.format(ROW, "", "lost", marks(x.lostAt(), width, '!')));
      }
      char[] first = " ".repeat(width).toCharArray();
      if (x.firstOnNewMs() >= 0) {
        mark(first, column(promotedAt + TimeUnit.MILLISECONDS.toNanos(x.firstOnNewMs()), start), '^');
      }
      b.append(String.format(ROW, "", "new", new String(first)));
    }
    for (Result x : List.of(r, j)) {
      b.append(String.format("  %-22s longest gap %5d ms, %4d errors, first write on the new master %s after its promotion, "
          + "%4d acknowledged writes lost%n", x.pool(), x.longestGapMs(), x.errors(),
          x.firstOnNewMs() < 0 ? "not within 10 s" : x.firstOnNewMs() + " ms", x.lost()));
    }
    out.print(b); // one write: a log line from another thread cannot land inside the timeline
  }

  private static int column(long at, long start) {
    return (int) ((at - start) / BUCKET_NANOS);
  }

  private static void mark(char[] marks, int at, char c) {
    if (at >= 0 && at < marks.length) {
      marks[at] = c;
    }
  }

  private static String levels(int[] counts, int width) {
    int max = 1;
    for (int c : counts) {
      max = Math.max(max, c);
    }
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < width; i++) {
      int c = i < counts.length ? counts[i] : 0;
      b.append(c == 0 ? ' ' : LEVELS.charAt(Math.max(1, (int) Math.ceil((LEVELS.length() - 1) * c / (double) max))));
    }
    return b.toString();
  }

  private static String marks(int[] counts, int width, char mark) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < width; i++) {
      b.append(i < counts.length && counts[i] > 0 ? mark : ' ');
    }
    return b.toString();
  }
}
