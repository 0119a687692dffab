package io.github.redismasterdiscovery.bench;

import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPubSub;

/**
 * A fleet of N simulated application pods against one testkit topology (1 master, 2 replicas, 3
 * Sentinels, the Kubernetes mock API; labels lag Sentinel by 1 s), each pod sharing nothing a server
 * sees with the others ({@link PodLoader}): its own discovery (Bitnami labels + Sentinels, defaults),
 * its own {@code FailoverJedisPool} and a light writer (one {@code SET} a second, jittered). Pod 0 also
 * carries the measured writer (a {@code SET} every 2 ms, acknowledged keys recorded, as in {@link
 * FailoverRecovery}).
 *
 * <p>Phases: a baseline with no pod, the fleet at rest, then {@code kill -9} of the master, {@code
 * SENTINEL FAILOVER} and a label move (the master label put on a replica), each observed for 6 s from
 * the fault and followed by a repair and a settle. Every server is sampled every 100 ms ({@link
 * ServerMonitor}); a phase reports each server's commands, {@code ROLE} calls, new connections, open
 * connections and CPU over 0–1 s and 1–5 s after the fault, and the {@code ROLE} calls at the promoted
 * replica in the first second after the Sentinel leader's {@code +selected-slave} (the failover's start
 * as the pods see it).
 */
final class Fleet {

  static final Duration LABEL_LAG = Duration.ofSeconds(1);
  private static final long OBSERVE_MILLIS = 6_000;
  private static final long SETTLE_MILLIS = 8_000;

  /** One line of the machine-readable summary, and what the markdown is made of. */
  record PhaseResult(int pods, String phase, Map<String, Object> summary, String markdown) {}

  final List<PhaseResult> results = new ArrayList<>();
  final List<String> notes = new ArrayList<>();
  private final PodLoader.Isolation isolation;
  private final int restSeconds;

  Fleet(PodLoader.Isolation isolation, int restSeconds) {
    this.isolation = isolation;
    this.restSeconds = restSeconds;
  }

  // ---------------------------------------------------------------------------------------------
  // One size

  /** Runs every phase for a fleet of {@code n} pods on a topology of its own. */
  void run(int n) throws Exception {
    System.out.printf("fleet: %d pods (%s), starting the topology%n", n, isolation);
    try (RedisHaTopology t = RedisHaTopology.builder().labelLag(LABEL_LAG).start();
        Events events = new Events(t);
        ServerMonitor m = new ServerMonitor(t)) {
      TimeUnit.SECONDS.sleep(1);
      Window baseline = rest(m, restSeconds);
      report(n, "baseline (no pods)", baselineSummary(m, baseline), restTable(m, baseline, null, 0));

      Runtime rt = Runtime.getRuntime();
      int threads0 = ManagementFactory.getThreadMXBean().getThreadCount();
      Map<String, Long> names0 = threadNames();
      long fds0 = openFiles();
      long heap0 = FleetPodMain.usedHeapAfterGc();
      long api0 = t.kubernetes().requests().size();
      long started0 = System.nanoTime();
      List<PodApi> pods = startPods(t, n);
      double startSeconds = (System.nanoTime() - started0) / 1e9;
      List<String> startRequests = t.kubernetes().requests();
      long startApi = startRequests.size() - api0;
      long startWatches = startRequests.subList((int) api0, startRequests.size()).stream().filter(r -> r.contains("watch=true")).count();
      try (LightWriters light = new LightWriters(pods)) {
        TimeUnit.MILLISECONDS.sleep(SETTLE_MILLIS);
        int threads = ManagementFactory.getThreadMXBean().getThreadCount() - threads0 - LightWriters.THREADS;
        long heap = FleetPodMain.usedHeapAfterGc() - heap0;
        long fds = openFiles() - fds0;
        Map<String, Long> names = threadNames();
        names0.forEach((k, v) -> names.merge(k, -v, Long::sum));
        names.remove("fleet-light-writer-#");
        names.remove("fleet-light-timer");
        String perPod = names.entrySet().stream().filter(e -> e.getValue() > 0)
            .sorted(Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder()))
            .map(e -> String.format(Locale.ROOT, "%s %.2f", e.getKey(), (double) e.getValue() / n)).collect(Collectors.joining(", "));
        System.out.printf("fleet: %d pods up in %.1f s; %d threads, %d MiB heap added (max heap %d MiB)%n", n, startSeconds, threads,
            heap >> 20, rt.maxMemory() >> 20);
        Window atRest = rest(m, restSeconds);
        Map<String, Object> s = restSummary(m, baseline, atRest, n);
        s.put("startSeconds", round(startSeconds));
        s.put("startApiRequestsPerPod", round((double) startApi / n));
        s.put("startApiWatchesPerPod", round((double) startWatches / n));
        s.put("jvmThreadsPerPod", round((double) threads / n));
        s.put("jvmHeapKiBPerPod", round(heap / 1024.0 / n));
        s.put("jvmOpenFilesPerPod", round((double) fds / n));
        s.put("lightWriteErrors", light.errors.get());
        report(n, "rest", s, String.format("Fleet up in %.1f s; at start %.2f API requests per pod (%.2f watches). In this JVM: %.1f "
                + "threads, %.0f KiB heap and %.1f open files per pod (%s isolation; a pod's own JVM: see the equivalence check). Threads "
            + "per pod by name: %s.%n%n", startSeconds, (double) startApi / n, (double) startWatches / n, (double) threads / n,
            heap / 1024.0 / n, (double) fds / n, isolation, perPod)
            + restTable(m, baseline, atRest, n));

        for (String fault : new String[] {"kill -9", "SENTINEL FAILOVER", "label move"}) {
          try {
            fault(t, m, events, pods, light, baseline, n, fault);
          } catch (RuntimeException e) {
            System.out.printf("fleet: %d pods, %s: not measured: %s%n", n, fault, e);
            e.printStackTrace(System.out);
            notes.add(n + " pods, " + fault + ": not measured (" + e + ")");
            FailoverRecovery.restore(t);
          }
        }
      } finally {
        closePods(pods);
      }
    }
  }

  private List<PodApi> startPods(RedisHaTopology t, int n) throws Exception {
    Map<String, String> settings = Map.of(
        "sentinels", t.sentinelAddresses().stream().map(Object::toString).collect(Collectors.joining(",")),
        "masterName", t.masterName(),
        "kubernetesUrl", t.kubernetes().url(),
        "namespace", t.kubernetes().namespace());
    ExecutorService starters = Executors.newFixedThreadPool(4);
    List<Future<PodApi>> futures = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int index = i;
      futures.add(starters.submit(() -> {
        PodApi pod = PodLoader.newPod(isolation, index, settings);
        pod.awaitMaster(120_000);
        return pod;
      }));
    }
    List<PodApi> pods = new ArrayList<>();
    try {
      for (Future<PodApi> f : futures) {
        pods.add(f.get());
      }
    } catch (Exception e) {
      closePods(pods);
      throw e;
    } finally {
      starters.shutdown();
    }
    return pods;
  }

  private static void closePods(List<PodApi> pods) throws InterruptedException {
    ExecutorService closers = Executors.newFixedThreadPool(8);
    for (PodApi p : pods) {
      closers.execute(() -> {
        try {
          p.close();
        } catch (RuntimeException e) {
          System.out.println("fleet: a pod did not close cleanly: " + e);
        }
      });
    }
    closers.shutdown();
    closers.awaitTermination(2, TimeUnit.MINUTES);
  }

  /** A window between two samples. */
  record Window(ServerMonitor.Sample from, ServerMonitor.Sample to) {
    double seconds() {
      return (to.nanos() - from.nanos()) / 1e9;
    }
  }

  /**
   * A window at rest. The testkit's label updater asks every Sentinel for the master every 10 ms (~90 commands/s at each,
   * varying with the machine's load by more than a small fleet adds): it is paused meanwhile, as nothing fails over.
   */
  private static Window rest(ServerMonitor m, int seconds) throws InterruptedException {
    m.topology.labels().pause();
    try {
      TimeUnit.MILLISECONDS.sleep(200);
      long t0 = System.nanoTime();
      ServerMonitor.Sample a = m.at(t0);
      return new Window(a, m.at(a.nanos() + TimeUnit.SECONDS.toNanos(seconds)));
    } finally {
      m.topology.labels().resume();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Faults

  private void fault(RedisHaTopology t, ServerMonitor m, Events events, List<PodApi> pods, LightWriters light, Window baseline, int n,
      String fault) throws Exception {
    RedisProcess old = t.awaitAgreedMaster(Duration.ofSeconds(30));
    List<RedisProcess> replicas = t.replicasOf(old);
    events.reset();
    MeasuredWriter writer = new MeasuredWriter(pods.get(0), fault.replace(' ', '_'));
    TimeUnit.MILLISECONDS.sleep(300);
    Watch watch = fault.equals("label move") ? null : new Watch(t, m, replicas);
    long errors0 = light.errors.get();
    long faultAt = System.nanoTime();
    int labeled = -1;
    switch (fault) {
      case "kill -9" -> old.kill();
      case "SENTINEL FAILOVER" -> t.failover();
      default -> labeled = t.labels().labelReplica();
    }
    long until = faultAt + TimeUnit.MILLISECONDS.toNanos(OBSERVE_MILLIS);
    while (System.nanoTime() < until || (watch != null && events.first("+selected-slave") > 0
        && System.nanoTime() < events.first("+selected-slave") + TimeUnit.MILLISECONDS.toNanos(1_300)
        && System.nanoTime() < faultAt + TimeUnit.SECONDS.toNanos(15))) {
      TimeUnit.MILLISECONDS.sleep(50);
    }
    long lightErrors = light.errors.get() - errors0;
    if (watch != null) {
      // a late promotion (a Sentinel election that failed once is retried after 2 × failover-timeout): keep the measured
      // writer going until its writes reach the new master, as FailoverRecovery does
      long promotedAt = watch.promotedAt(Duration.ofSeconds(30));
      writer.awaitOn(t, watch.promoted, promotedAt, 50, TimeUnit.SECONDS.toNanos(15));
    }
    writer.stop();
    ServerMonitor.Sample f0 = m.at(faultAt);
    ServerMonitor.Sample f1 = m.at(faultAt + TimeUnit.SECONDS.toNanos(1));
    ServerMonitor.Sample f5 = m.at(faultAt + TimeUnit.SECONDS.toNanos(5));
    Window w01 = new Window(f0, f1);
    Window w15 = new Window(f1, f5);
    long selected = events.first("+selected-slave");
    Window wStart = selected > 0 ? new Window(m.at(selected), m.at(selected + TimeUnit.SECONDS.toNanos(1))) : null;

    Map<String, Object> s = new LinkedHashMap<>();
    RedisProcess promoted = null;
    StringBuilder md = new StringBuilder();
    if (watch != null) {
      long promotedAt = watch.promotedAt(Duration.ofSeconds(1));
      promoted = watch.promoted;
      s.put("faultToPromotionMs", round((promotedAt - faultAt) / 1e6));
      s.put("faultToSelectedSlaveMs", selected > 0 ? round((selected - faultAt) / 1e6) : null);
      double[] w = writer.analyse(t, promoted, promotedAt, faultAt);
      s.put("promotionToFirstWriteMs", round(w[0]));
      s.put("faultToFirstWriteMs", round(w[1]));
      s.put("writerErrors", (long) w[2]);
      s.put("lostAcks", (long) w[3]);
      int p = m.indexOf(promoted);
      ServerMonitor.Delta d = wStart == null ? null : m.window(wStart.from(), wStart.to(), p);
      long roleFirstSecond = d == null ? -1 : d.calls("role");
      s.put("roleAtPromotedFirstSecond", roleFirstSecond);
      s.put("roleAtPromotedFirstSecondPerPod", roleFirstSecond < 0 ? null : round((double) roleFirstSecond / n));
      ServerMonitor.Delta d01 = m.window(f0, f1, p);
      ServerMonitor.Delta d15 = m.window(f1, f5, p);
      s.put("roleAtPromoted0to5sPerPod", d01 == null || d15 == null ? null : round((double) (d01.calls("role") + d15.calls("role")) / n));
      md.append(String.format("Fault → promotion %.0f ms (Sentinel leader's `+selected-slave` at %s ms). Measured writer (pod 0): "
              + "promotion → first write on the new master **%.1f ms**, fault → first write %.0f ms, %d errors, **%d acknowledged writes "
              + "lost**. `ROLE` at the promoted replica in the first second after `+selected-slave`: **%s** (%s per pod); over 0–5 s "
              + "after the fault: %s per pod.%n%n",
          (promotedAt - faultAt) / 1e6, selected > 0 ? String.format("%.0f", (selected - faultAt) / 1e6) : "n/a", w[0], w[1], (long) w[2],
          (long) w[3], roleFirstSecond < 0 ? "n/a" : Long.toString(roleFirstSecond),
          s.get("roleAtPromotedFirstSecondPerPod"), s.get("roleAtPromoted0to5sPerPod")));
      // repair: the killed master back as a replica, a demoted master that Sentinel has not converted yet made one
      FailoverRecovery.restore(t);
    } else {
      s.put("writerErrors", writer.errors.get());
      RedisProcess labeledNode = t.node(labeled);
      int li = m.indexOf(labeledNode);
      ServerMonitor.Delta d01 = m.window(f0, f1, li);
      ServerMonitor.Delta d15 = m.window(f1, f5, li);
      s.put("roleAtLabeledFirstSecondPerPod", d01 == null ? null : round((double) d01.calls("role") / n));
      s.put("roleAtLabeled0to5sPerPod", d01 == null || d15 == null ? null : round((double) (d01.calls("role") + d15.calls("role")) / n));
      md.append(String.format("The master label put on %s (a replica), the real master's pod set to false. `ROLE` at the labeled replica: "
              + "%s per pod in the first second, %s per pod over 0–5 s. Measured writer: %d errors.%n%n", labeledNode.name(),
          s.get("roleAtLabeledFirstSecondPerPod"), s.get("roleAtLabeled0to5sPerPod"), writer.errors.get()));
      t.labels().setLabel(labeled, "false");
      t.labels().setLabel(t.nodeIndex(old.address()), "true");
    }
    s.put("lightWriteErrors", lightErrors);
    long api = f5.apiRequests() - f0.apiRequests();
    s.put("apiRequests0to5s", api);
    s.put("apiWatches0to5s", f5.apiWatches() - f0.apiWatches());
    s.put("jvmCpuMs0to5s", round((f5.jvmCpuNanos() - f0.jvmCpuNanos()) / 1e6));
    s.put("servers", serverSummary(m, baseline, w01, w15, n));
    md.append(String.format("Light writers: %d errors in the 6 s after the fault. Kubernetes API: %d requests (%d watches) in 0–5 s. "
            + "This JVM (all pods and the mock API): %.0f ms CPU over 0–5 s.%n%n", lightErrors, api, f5.apiWatches() - f0.apiWatches(),
        (f5.jvmCpuNanos() - f0.jvmCpuNanos()) / 1e6));
    md.append(faultTable(m, old, promoted, baseline, w01, w15, n));
    report(n, fault, s, md.toString());
    awaitFollowed(t, pods);
    TimeUnit.MILLISECONDS.sleep(SETTLE_MILLIS);
  }

  /** Waits until every pod holds the agreed master, up to 60 s (a pod that does not is reported, not waited for). */
  private static void awaitFollowed(RedisHaTopology t, List<PodApi> pods) throws InterruptedException {
    String master = t.awaitHealthy(Duration.ofSeconds(60)).address().toString();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    long behind;
    do {
      behind = pods.stream().filter(p -> !master.equals(p.master())).count();
      if (behind == 0) {
        return;
      }
      TimeUnit.MILLISECONDS.sleep(100);
    } while (System.nanoTime() < deadline);
    System.out.printf("fleet: %d pods still not on %s after 60 s%n", behind, master);
  }

  // ---------------------------------------------------------------------------------------------
  // Tables and summaries

  private void report(int n, String phase, Map<String, Object> summary, String markdown) {
    Map<String, Object> line = new LinkedHashMap<>();
    line.put("pods", n);
    line.put("isolation", isolation.name());
    line.put("phase", phase);
    line.put("date", java.time.Instant.now().toString());
    line.putAll(summary);
    add(new PhaseResult(n, phase, line, markdown));
    System.out.println("FLEET-SUMMARY " + json(line));
    System.out.println(markdown);
  }

  private Map<String, Object> baselineSummary(ServerMonitor m, Window b) {
    Map<String, Object> s = new LinkedHashMap<>();
    Map<String, Object> servers = new LinkedHashMap<>();
    for (int i = 0; i < m.servers.size(); i++) {
      ServerMonitor.Delta d = m.window(b.from(), b.to(), i);
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("commandsPerSecond", round(d.library() / d.seconds()));
      x.put("newConnectionsPerSecond", round(d.newConnections() / d.seconds()));
      x.put("connected", d.connectedAtEnd());
      x.put("cpuPercent", round(d.cpuMillis() / 10 / d.seconds()));
      servers.put(m.name(i), x);
    }
    s.put("apiRequestsPerSecond", round((b.to().apiRequests() - b.from().apiRequests()) / b.seconds()));
    s.put("jvmCpuPercent", round((b.to().jvmCpuNanos() - b.from().jvmCpuNanos()) / 1e7 / b.seconds()));
    s.put("servers", servers);
    return s;
  }

  private Map<String, Object> restSummary(ServerMonitor m, Window b, Window r, int n) {
    Map<String, Object> s = new LinkedHashMap<>();
    Map<String, Object> servers = new LinkedHashMap<>();
    for (int i = 0; i < m.servers.size(); i++) {
      ServerMonitor.Delta db = m.window(b.from(), b.to(), i);
      ServerMonitor.Delta dr = m.window(r.from(), r.to(), i);
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("commandsPerSecondPerPod", round((dr.library() / dr.seconds() - db.library() / db.seconds()) / n));
      x.put("setsPerSecond", round(dr.calls("set") / dr.seconds()));
      x.put("newConnectionsPerSecondPerPod", round((dr.newConnections() / dr.seconds() - db.newConnections() / db.seconds()) / n));
      x.put("connectionsPerPod", round((double) (dr.connectedAtEnd() - db.connectedAtEnd()) / n));
      x.put("cpuPercent", round(dr.cpuMillis() / 10 / dr.seconds()));
      x.put("commandsPerSecond", round(dr.library() / dr.seconds()));
      x.put("connected", dr.connectedAtEnd());
      servers.put(m.name(i), x);
    }
    s.put("apiRequestsPerSecond", round((r.to().apiRequests() - r.from().apiRequests()) / r.seconds()));
    s.put("jvmCpuPercent", round((r.to().jvmCpuNanos() - r.from().jvmCpuNanos()) / 1e7 / r.seconds()));
    s.put("servers", servers);
    return s;
  }

  private static Map<String, Object> serverSummary(ServerMonitor m, Window b, Window w01, Window w15, int n) {
    Map<String, Object> servers = new LinkedHashMap<>();
    for (int i = 0; i < m.servers.size(); i++) {
      Map<String, Object> x = new LinkedHashMap<>();
      for (Window w : new Window[] {w01, w15}) {
        String k = w == w01 ? "0to1s" : "1to5s";
        ServerMonitor.Delta d = m.window(w.from(), w.to(), i);
        if (d == null) {
          x.put(k, null);
          continue;
        }
        Map<String, Object> y = new LinkedHashMap<>();
        y.put("commands", d.library());
        y.put("sets", d.calls("set"));
        y.put("role", d.calls("role"));
        y.put("newConnections", d.newConnections());
        y.put("connectedAtEnd", d.connectedAtEnd());
        y.put("cpuMs", round(d.cpuMillis()));
        x.put(k, y);
      }
      servers.put(m.name(i), x);
    }
    return servers;
  }

  private static String restTable(ServerMonitor m, Window b, Window r, int n) {
    StringBuilder md = new StringBuilder();
    if (r == null) {
      md.append(String.format("No pod yet, %.1f s: Sentinel's own monitoring, the harness's monitor connection (its INFO left out) and "
          + "Sentinel event subscription. The testkit's label updater (it asks every Sentinel every 10 ms) is paused in every window at "
          + "rest; it runs in the fault phases (~90 commands/s at each Sentinel there).%n%n", b.seconds()))
          .append("| server | connections | commands/s (all but SET) | new connections/s | CPU % | top commands/s |\n|---|---|---|---|---|---|\n");
      for (int i = 0; i < m.servers.size(); i++) {
        ServerMonitor.Delta d = m.window(b.from(), b.to(), i);
        md.append(String.format("| %s | %d | %.1f | %.2f | %.1f | %s |%n", m.name(i), d.connectedAtEnd(), d.library() / d.seconds(),
            d.newConnections() / d.seconds(), d.cpuMillis() / 10 / d.seconds(), top(d, 4)));
      }
      md.append(String.format("%nKubernetes API: %.2f requests/s. This JVM (harness, monitor, mock API): %.1f%% CPU (of one core).%n",
          (b.to().apiRequests() - b.from().apiRequests()) / b.seconds(), (b.to().jvmCpuNanos() - b.from().jvmCpuNanos()) / 1e7 / b.seconds()));
      return md.toString();
    }
    md.append(String.format("At rest, %.1f s window; per pod = (fleet − baseline) / %d. Commands are all but `SET` (the light writers' "
            + "own writes, counted again at every replica as replicated) and the harness's `INFO`.%n%n", r.seconds(), n))
        .append("| server | connections | per pod | commands/s | per pod | new connections/s | per pod | CPU % | top commands/s |\n")
        .append("|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < m.servers.size(); i++) {
      ServerMonitor.Delta db = m.window(b.from(), b.to(), i);
      ServerMonitor.Delta dr = m.window(r.from(), r.to(), i);
      md.append(String.format("| %s | %d | %.2f | %.1f | %.3f | %.2f | %.4f | %.1f | %s |%n", m.name(i), dr.connectedAtEnd(),
          (double) (dr.connectedAtEnd() - db.connectedAtEnd()) / n, dr.library() / dr.seconds(),
          (dr.library() / dr.seconds() - db.library() / db.seconds()) / n, dr.newConnections() / dr.seconds(),
          (dr.newConnections() / dr.seconds() - db.newConnections() / db.seconds()) / n, dr.cpuMillis() / 10 / dr.seconds(), top(dr, 5)));
    }
    md.append(String.format("%nKubernetes API: %.2f requests/s at rest (baseline %.2f). This JVM: %.1f%% CPU (of one core).%n",
        (r.to().apiRequests() - r.from().apiRequests()) / r.seconds(), (b.to().apiRequests() - b.from().apiRequests()) / b.seconds(),
        (r.to().jvmCpuNanos() - r.from().jvmCpuNanos()) / 1e7 / r.seconds()));
    return md.toString();
  }

  private static String faultTable(ServerMonitor m, RedisProcess old, RedisProcess promoted, Window b, Window w01, Window w15, int n) {
    StringBuilder md = new StringBuilder(
        "Commands: all but `SET` (the pods' writes) and the harness's own `INFO` and `ROLE`.\n\n"
            + "| server | 0–1 s: commands | ROLE | new conns | CPU ms | 1–5 s: commands/s | ROLE/s | new conns/s | CPU % | connections at 5 s | top commands 0–5 s |\n"
            + "|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < m.servers.size(); i++) {
      RedisProcess server = m.servers.get(i);
      String name = m.name(i) + (server == old ? " (old master)" : server == promoted ? " (promoted)" : "");
      ServerMonitor.Delta a = m.window(w01.from(), w01.to(), i);
      ServerMonitor.Delta c = m.window(w15.from(), w15.to(), i);
      ServerMonitor.Delta all = m.window(w01.from(), w15.to(), i);
      md.append("| ").append(name).append(" | ");
      md.append(a == null ? "n/a | n/a | n/a | n/a" : String.format("%d | %d | %d | %.0f", a.library(), a.calls("role"), a.newConnections(),
          a.cpuMillis()));
      md.append(" | ");
      md.append(c == null ? "n/a | n/a | n/a | n/a | n/a" : String.format("%.0f | %.0f | %.1f | %.1f | %d", c.library() / c.seconds(),
          c.calls("role") / c.seconds(), c.newConnections() / c.seconds(), c.cpuMillis() / 10 / c.seconds(), c.connectedAtEnd()));
      md.append(" | ").append(all == null ? "n/a" : top(all, 4)).append(" |\n");
    }
    return md.append('\n').toString();
  }

  /** The {@code k} most called commands of a window, per second. */
  private static String top(ServerMonitor.Delta d, int k) {
    return d.calls().entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder())).limit(k)
        .map(e -> String.format(Locale.ROOT, "%s %.1f", e.getKey(), e.getValue() / d.seconds())).collect(Collectors.joining(", "));
  }

  /** This process's open file descriptors (Linux), -1 elsewhere. */
  static long openFiles() {
    try (var files = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/fd"))) {
      return files.count();
    } catch (java.io.IOException | RuntimeException e) {
      return -1;
    }
  }

  /** Live threads by name, digits folded ({@code rmd-io-3} and {@code rmd-io-7} are both {@code rmd-io-#}). */
  static Map<String, Long> threadNames() {
    return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive)
        .collect(Collectors.groupingBy(t -> t.getName().replaceAll("[0-9]+", "#"), java.util.TreeMap::new, Collectors.counting()));
  }

  static double round(double v) {
    return Double.isNaN(v) || Double.isInfinite(v) ? v : Math.round(v * 1000) / 1000.0;
  }

  static String json(Object o) {
    if (o == null) {
      return "null";
    }
    if (o instanceof Map<?, ?> map) {
      return map.entrySet().stream().map(e -> "\"" + e.getKey() + "\":" + json(e.getValue())).collect(Collectors.joining(",", "{", "}"));
    }
    if (o instanceof Number num) {
      if (num instanceof Double dd) {
        return dd.isNaN() || dd.isInfinite() ? "null" : dd == Math.rint(dd) && Math.abs(dd) < 1e15 ? Long.toString(dd.longValue()) : dd.toString();
      }
      return num.toString();
    }
    if (o instanceof List<?> list) {
      return list.stream().map(Fleet::json).collect(Collectors.joining(",", "[", "]"));
    }
    return "\"" + o.toString().replace("\"", "'") + "\"";
  }

  /** The body of docs/benchmarks-fleet.md: the key numbers, the 10,000-pod projection, then every table. */
  String markdown() {
    StringBuilder md = new StringBuilder("How it measures: every server is sampled every " + ServerMonitor.PERIOD_MILLIS + " ms on a "
        + "connection of the harness's own (`INFO`; Sentinel 7.0 has no `commandstats`, so at the Sentinels only the total is known); "
        + "CPU from `/proc/<pid>/stat`; the mock API's requests from `KubernetesApi.requests()`. \"Commands\" leave out the pods' `SET`s "
        + "(every replica counts them again, replicated) and the harness's own `INFO` and `ROLE` (its promotion watch polls the replicas "
        + "every 1 ms and counts its calls). Per pod = (fleet − baseline without pods) / N. Windows start at the fault (`kill -9`, "
        + "`SENTINEL FAILOVER`, the label write) and are up to one sampling period late; \"1st s after `+selected-slave`\" starts when "
        + "the harness's own subscription sees the Sentinel leader choose the replica. Everything (every pod, every server, the mock "
        + "API) shares the machine's cores: where the pods' CPU is the limit, what the servers receive at failover is a lower bound of "
        + "what N real pods would send.\n\n");
    List<PhaseResult> rest = results.stream().filter(r -> r.phase().equals("rest")).toList();
    if (!rest.isEmpty()) {
      md.append("## Key numbers\n\n| pods | ROLE at the promoted replica, 1st s after `+selected-slave`, per pod: kill -9 / SENTINEL FAILOVER "
          + "| measured writer: promotion → first write, ms: kill -9 / SENTINEL FAILOVER | acknowledged writes lost on SENTINEL FAILOVER "
          + "| at rest per pod: commands/s at master / each replica / each Sentinel | new connections/s per pod at rest (all servers) "
          + "| Sentinel connections per pod (each Sentinel) | JVM threads / heap KiB per pod (this JVM) | harness JVM CPU 0–5 s after kill -9, ms "
          + "(2 cores: 10,000 at most) |\n|---|---|---|---|---|---|---|---|---|\n");
      for (PhaseResult r : rest) {
        Map<String, Object> kill = phase(r.pods(), "kill -9");
        Map<String, Object> fo = phase(r.pods(), "SENTINEL FAILOVER");
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> servers = (Map<String, Map<String, Object>>) r.summary().get("servers");
        double newConns = 0;
        for (Map<String, Object> x : servers.values()) {
          newConns += ((Number) x.get("newConnectionsPerSecondPerPod")).doubleValue();
        }
        md.append(String.format("| %s | %s / %s | %s / %s | %s | %s / %s / %s | %.4f | %s | %s / %s | %s |%n",
            r.pods() + ("CLASS_LOADER".equals(r.summary().get("isolation")) ? "" : " (" + r.summary().get("isolation") + ")")
                + (steady(r) ? "" : " **overloaded**"),
            get(kill, "roleAtPromotedFirstSecondPerPod"), get(fo, "roleAtPromotedFirstSecondPerPod"),
            get(kill, "promotionToFirstWriteMs"), get(fo, "promotionToFirstWriteMs"), get(fo, "lostAcks"),
            get(servers.get("node-0"), "commandsPerSecondPerPod"), get(servers.get("node-1"), "commandsPerSecondPerPod"),
            get(servers.get("sentinel-0"), "commandsPerSecondPerPod"), newConns,
            get(servers.get("sentinel-0"), "connectionsPerPod"), get(r.summary(), "jvmThreadsPerPod"), get(r.summary(), "jvmHeapKiBPerPod"),
            get(kill, "jvmCpuMs0to5s")));
      }
      // the projection comes from the largest size that was really at rest: no reconnect storm, the harness not out of CPU
      PhaseResult largest = rest.stream().filter(Fleet::steady).reduce((a, b) -> b).orElse(rest.get(rest.size() - 1));
      @SuppressWarnings("unchecked")
      Map<String, Map<String, Object>> servers = (Map<String, Map<String, Object>>) largest.summary().get("servers");
      md.append(String.format("%n### A 10,000-pod fleet, from the %d-pod run (linear in N: nothing in the current core is shared between "
              + "pods)%n%n| server | per pod (measured) | 10,000 pods |%n|---|---|---|%n", largest.pods()));
      for (String server : servers.keySet()) {
        Map<String, Object> x = servers.get(server);
        double c = ((Number) x.get("connectionsPerPod")).doubleValue();
        double cps = ((Number) x.get("commandsPerSecondPerPod")).doubleValue();
        double nps = ((Number) x.get("newConnectionsPerSecondPerPod")).doubleValue();
        md.append(String.format("| %s at rest | %.2f connections, %.3f commands/s, %.4f new connections/s | %.0f connections%s, %.0f commands/s, "
                + "%.1f new connections/s |%n", server, c, cps, nps, c * 10_000, server.startsWith("sentinel")
                ? String.format(" (%.0f%% of the default maxclients 10,000)", c * 10_000 / 100) : "", cps * 10_000, nps * 10_000));
      }
      PhaseResult smallest = rest.get(0);
      for (String f : new String[] {"kill -9", "SENTINEL FAILOVER", "label move"}) {
        String key = f.equals("label move") ? "roleAtLabeledFirstSecondPerPod" : "roleAtPromotedFirstSecondPerPod";
        String where = f.equals("label move") ? "labeled replica" : "promoted replica";
        Object small = phase(smallest.pods(), f).get(key);
        Object large = phase(largest.pods(), f).get(key);
        md.append(String.format("| %s, 1st s of a %s | %s ROLE at %d pods, %s at %d pods | %s ROLE in that second from the %d-pod rate%s |%n",
            where, f, get(phase(smallest.pods(), f), key), smallest.pods(), get(phase(largest.pods(), f), key), largest.pods(),
            small instanceof Number num ? String.format("%.0f", num.doubleValue() * 10_000) : "n/a", smallest.pods(),
            large instanceof Number num2 ? String.format("; %.0f from the %d-pod rate (harness CPU-bound: a lower bound)", num2.doubleValue() * 10_000,
                largest.pods()) : ""));
      }
      md.append("\n**overloaded**: the harness ran out of CPU at that size (this JVM over one core at rest, or the mock API failing "
          + "watches): its pods' Sentinel heartbeats and watches time out and reconnect, so its rows show that storm, not a fleet at "
          + "rest.\n\nFormula per server: value(N) = baseline + N × per-pod value; the per-pod values are the measured (fleet − baseline) / N "
          + "above. Where the harness's own CPU limits what the fleet sends (2 cores for every pod, every server and the mock API), the "
          + "failover figures are lower bounds of what N real pods would send.\n\n");
    }
    int size = -1;
    for (PhaseResult r : results) {
      if (r.pods() != size) {
        size = r.pods();
        md.append(r.phase().equals("equivalence") ? "## Equivalence check\n\n" : "## " + size + " pods\n\n");
      }
      if (!r.phase().equals("equivalence")) {
        md.append("### ").append(r.phase()).append("\n\n");
      }
      md.append(r.markdown()).append('\n');
    }
    if (!notes.isEmpty()) {
      md.append("## Not measured\n\n");
      notes.forEach(n -> md.append("- ").append(n).append('\n'));
    }
    md.append("\n## Machine-readable summary\n\nOne JSON line per size and phase (also printed as `FLEET-SUMMARY ...` lines and "
        + "written to `bench/results/fleet.jsonl`):\n\n```\n");
    results.forEach(r -> md.append(json(r.summary())).append('\n'));
    return md.append("```\n").toString();
  }

  /**
   * Whether a size's rest window was a steady state: the mock API answered every watch (no relists) and this JVM had CPU to
   * spare (under one core of the two). Beyond that the pods' Sentinel heartbeats and watches time out and reconnect, and the
   * window measures the storm, not the fleet at rest.
   */
  static boolean steady(PhaseResult rest) {
    Object api = rest.summary().get("apiRequestsPerSecond");
    Object cpu = rest.summary().get("jvmCpuPercent");
    return api instanceof Number a && a.doubleValue() < 1 && cpu instanceof Number c && c.doubleValue() < 100;
  }

  /** Adds a result, replacing one of an earlier run for the same size and phase. */
  private void add(PhaseResult r) {
    results.removeIf(x -> x.pods() == r.pods() && x.phase().equals(r.phase()));
    results.add(r);
    // the equivalence check first, then the sizes in ascending order; phases in the order they ran
    List<PhaseResult> sorted = new ArrayList<>(results);
    sorted.sort(Comparator.comparingInt(x -> x.phase().equals("equivalence") ? -1 : x.pods()));
    results.clear();
    results.addAll(sorted);
  }

  /** Keeps the results of an earlier run ({@link #save}), so that sizes run apart end up in one document. */
  void load(java.nio.file.Path file) throws java.io.IOException {
    if (!java.nio.file.Files.exists(file)) {
      return;
    }
    com.google.gson.JsonArray all = com.google.gson.JsonParser.parseString(java.nio.file.Files.readString(file)).getAsJsonArray();
    java.lang.reflect.Type type = new com.google.gson.reflect.TypeToken<LinkedHashMap<String, Object>>() {}.getType();
    for (com.google.gson.JsonElement e : all) {
      com.google.gson.JsonObject o = e.getAsJsonObject();
      Map<String, Object> summary = new com.google.gson.Gson().fromJson(o.get("summary"), type);
      add(new PhaseResult(o.get("pods").getAsInt(), o.get("phase").getAsString(), summary, o.get("markdown").getAsString()));
    }
  }

  /** Every result with its tables, for {@link #load}. */
  void save(java.nio.file.Path file) throws java.io.IOException {
    com.google.gson.JsonArray all = new com.google.gson.JsonArray();
    for (PhaseResult r : results) {
      com.google.gson.JsonObject o = new com.google.gson.JsonObject();
      o.addProperty("pods", r.pods());
      o.addProperty("phase", r.phase());
      o.add("summary", com.google.gson.JsonParser.parseString(json(r.summary())));
      o.addProperty("markdown", r.markdown());
      all.add(o);
    }
    java.nio.file.Files.writeString(file, new com.google.gson.GsonBuilder().setPrettyPrinting().create().toJson(all));
  }

  private Map<String, Object> phase(int pods, String phase) {
    return results.stream().filter(r -> r.pods() == pods && r.phase().equals(phase)).map(PhaseResult::summary).findFirst().orElse(Map.of());
  }

  /** A value of a summary for a table: numbers with the digits that matter, "n/a" where there is none. */
  private static Object get(Map<String, Object> m, String key) {
    Object v = m.get(key);
    if (v instanceof Number num) {
      double d = num.doubleValue();
      return Double.isNaN(d) ? "n/a" : Math.abs(d) >= 100 || d == Math.rint(d) ? String.format(Locale.ROOT, "%.0f", d)
          : Math.abs(d) >= 1 ? String.format(Locale.ROOT, "%.1f", d) : String.format(Locale.ROOT, "%.3f", d);
    }
    return v == null ? "n/a" : v;
  }

  /** The machine-readable summary: one JSON object a line. */
  String jsonLines() {
    return results.stream().map(r -> json(r.summary())).collect(Collectors.joining("\n", "", "\n"));
  }

  // ---------------------------------------------------------------------------------------------
  // The equivalence check

  /**
   * {@code n} pods three ways on one topology, each at rest for {@code restSeconds}: in this JVM with a
   * class loader each, in this JVM with a client name and Kubernetes client each, and in {@code n} JVMs
   * of their own. What every server sees (connections, commands/s, new connections/s) should match.
   */
  void equivalence(int n, int windowSeconds) throws Exception {
    try (RedisHaTopology t = RedisHaTopology.builder().labelLag(LABEL_LAG).start();
        Events events = new Events(t);
        ServerMonitor m = new ServerMonitor(t)) {
      TimeUnit.SECONDS.sleep(1);
      Window baseline = rest(m, windowSeconds);
      Map<String, Window> windows = new LinkedHashMap<>();
      for (PodLoader.Isolation mode : PodLoader.Isolation.values()) {
        Fleet f = new Fleet(mode, restSeconds);
        List<PodApi> pods = f.startPods(t, n);
        try (LightWriters light = new LightWriters(pods)) {
          TimeUnit.MILLISECONDS.sleep(SETTLE_MILLIS);
          windows.put("one JVM, " + mode, rest(m, windowSeconds));
        } finally {
          closePods(pods);
        }
        TimeUnit.SECONDS.sleep(3);
      }
      List<Process> jvms = new ArrayList<>();
      List<String> ready = new ArrayList<>();
      try {
        String java = ProcessHandle.current().info().command().orElse("java");
        for (int i = 0; i < n; i++) {
          jvms.add(new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"), FleetPodMain.class.getName(),
              "sentinels=" + t.sentinelAddresses().stream().map(Object::toString).collect(Collectors.joining(",")),
              "masterName=" + t.masterName(), "kubernetesUrl=" + t.kubernetes().url(), "namespace=" + t.kubernetes().namespace())
              .redirectErrorStream(true).start());
        }
        for (Process p : jvms) {
          BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
          for (String line; (line = out.readLine()) != null; ) {
            if (line.startsWith("POD-READY")) {
              ready.add(line.substring("POD-READY ".length()));
              break;
            }
          }
        }
        TimeUnit.MILLISECONDS.sleep(SETTLE_MILLIS);
        windows.put(n + " JVMs", rest(m, windowSeconds));
      } finally {
        for (Process p : jvms) {
          p.getOutputStream().close();
        }
        for (Process p : jvms) {
          if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
          }
        }
      }
      StringBuilder md = new StringBuilder(String.format("%d pods at rest, three ways, on one topology; each server's numbers minus the "
          + "baseline (no pod), %d s windows (long enough for each pod's 30 s Sentinel re-query to fall in them once).%n%n"
          + "| server | measure |", n, windowSeconds));
      windows.keySet().forEach(k -> md.append(' ').append(k).append(" |"));
      md.append("\n|---|---|").append("---|".repeat(windows.size())).append('\n');
      Map<String, Object> summary = new LinkedHashMap<>();
      for (int i = 0; i < m.servers.size(); i++) {
        ServerMonitor.Delta db = m.window(baseline.from(), baseline.to(), i);
        StringBuilder conns = new StringBuilder("| " + m.name(i) + " | connections added |");
        StringBuilder cmds = new StringBuilder("| | commands/s added (all but SET; top commands) |");
        StringBuilder news = new StringBuilder("| | new connections/s added |");
        Map<String, Object> per = new LinkedHashMap<>();
        for (Map.Entry<String, Window> e : windows.entrySet()) {
          ServerMonitor.Delta d = m.window(e.getValue().from(), e.getValue().to(), i);
          long c = d.connectedAtEnd() - db.connectedAtEnd();
          double cps = d.library() / d.seconds() - db.library() / db.seconds();
          double nps = d.newConnections() / d.seconds() - db.newConnections() / db.seconds();
          conns.append(' ').append(c).append(" |");
          cmds.append(String.format(" %.1f (%s) |", cps, top(d, 3)));
          news.append(String.format(" %.2f |", nps));
          per.put(e.getKey(), Map.of("connectionsAdded", c, "commandsPerSecondAdded", round(cps), "newConnectionsPerSecondAdded", round(nps)));
        }
        md.append(conns).append('\n').append(cmds).append('\n').append(news).append('\n');
        summary.put(m.name(i), per);
      }
      md.append("\nKubernetes API requests during each window and since start: ");
      for (Map.Entry<String, Window> e : windows.entrySet()) {
        md.append(String.format("%s %d; ", e.getKey(), e.getValue().to().apiRequests() - e.getValue().from().apiRequests()));
      }
      md.append(String.format("%n%nEach pod in a JVM of its own (`FleetPodMain`: one discovery, one pool, a light writer; `-Xmx256m`), what "
          + "the pod added to an idle JVM: %s.%n", String.join("; ", ready)));
      Map<String, Object> s = new LinkedHashMap<>();
      s.put("servers", summary);
      s.put("podJvms", ready);
      Map<String, Object> line = new LinkedHashMap<>();
      line.put("pods", n);
      line.put("phase", "equivalence");
      line.putAll(s);
      line.put("date", java.time.Instant.now().toString());
      add(new PhaseResult(n, "equivalence", line, md.toString()));
      System.out.println("FLEET-SUMMARY " + json(line));
      System.out.println(md);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Harness parts

  /** The first time (nanoTime) each failover event was published by any Sentinel since {@link #reset}. */
  static final class Events implements AutoCloseable {
    private final Map<String, Long> first = new ConcurrentHashMap<>();
    private final List<Jedis> connections = new ArrayList<>();
    private final List<JedisPubSub> subs = new ArrayList<>();

    Events(RedisHaTopology t) {
      for (RedisProcess s : t.sentinels()) {
        Jedis j = t.connect(s);
        JedisPubSub sub = new JedisPubSub() {
          @Override
          public void onMessage(String channel, String message) {
            first.putIfAbsent(channel, System.nanoTime());
          }
        };
        connections.add(j);
        subs.add(sub);
        Thread th = new Thread(() -> {
          try {
            j.subscribe(sub, "+try-failover", "+selected-slave", "+failover-state-send-slaveof-noone", "+promoted-slave", "+switch-master",
                "+odown");
          } catch (RuntimeException e) {
            // closed
          }
        }, "fleet-events");
        th.setDaemon(true);
        th.start();
      }
    }

    void reset() {
      first.clear();
    }

    long first(String channel) {
      return first.getOrDefault(channel, 0L);
    }

    @Override
    public void close() {
      for (int i = 0; i < subs.size(); i++) {
        try {
          subs.get(i).unsubscribe();
        } catch (RuntimeException ignored) {
          // not subscribed yet or already gone
        }
        connections.get(i).disconnect();
      }
    }
  }

  /** Polls ROLE on the replicas every millisecond until one says master; counts its ROLE calls for the monitor. */
  static final class Watch {
    private volatile long promotedAt;
    volatile RedisProcess promoted;
    private final Thread thread;

    Watch(RedisHaTopology t, ServerMonitor m, List<RedisProcess> replicas) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      thread = new Thread(() -> {
        while (System.nanoTime() < deadline) {
          List<Jedis> connections = new ArrayList<>();
          try {
            for (RedisProcess r : replicas) {
              connections.add(t.connect(r));
            }
            while (System.nanoTime() < deadline) {
              for (int i = 0; i < connections.size(); i++) {
                m.harnessRoles.incrementAndGet(m.indexOf(replicas.get(i)));
                if ("master".equals(String.valueOf(connections.get(i).role().get(0)))) {
                  promoted = replicas.get(i);
                  promotedAt = System.nanoTime();
                  return;
                }
              }
              LockSupport.parkNanos(1_000_000);
            }
          } catch (RuntimeException e) {
            // Sentinel's failover kills client connections: reconnect
          } finally {
            connections.forEach(Jedis::close);
          }
        }
      }, "fleet-promotion-watch");
      thread.setDaemon(true);
      thread.start();
    }

    long promotedAt(Duration timeout) throws InterruptedException {
      thread.join(timeout.toMillis());
      if (promotedAt == 0) {
        throw new IllegalStateException("no replica was promoted within the watch");
      }
      return promotedAt;
    }
  }

  /** Pod 0's writer: a SET every 2 ms with unique keys, acknowledged keys and their times recorded. */
  static final class MeasuredWriter {
    private record Ack(String key, long atNanos) {}

    private final ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
    final AtomicLong errors = new AtomicLong();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final Thread thread;

    MeasuredWriter(PodApi pod, String phase) {
      String prefix = "fleet-measured:" + phase + ":" + System.nanoTime() + ":";
      thread = new Thread(() -> {
        for (long n = 0; !stop.get(); n++) {
          String key = prefix + n;
          try {
            pod.set(key, "v");
            acks.add(new Ack(key, System.nanoTime()));
          } catch (RuntimeException e) {
            errors.incrementAndGet();
          }
          LockSupport.parkNanos(2_000_000);
        }
      }, "fleet-measured-writer");
      thread.setDaemon(true);
      thread.start();
    }

    void stop() throws InterruptedException {
      stop.set(true);
      thread.join(10_000);
    }

    /** Waits until {@code count} writes acknowledged after {@code promotedAt} are on {@code next}, or {@code limitNanos} passes. */
    void awaitOn(RedisHaTopology t, RedisProcess next, long promotedAt, int count, long limitNanos) throws InterruptedException {
      long deadline = System.nanoTime() + limitNanos;
      while (System.nanoTime() < deadline) {
        List<String> keys = acks.stream().filter(a -> a.atNanos() > promotedAt).map(Ack::key).collect(Collectors.toList());
        int on = 0;
        try {
          for (boolean b : FailoverRecovery.exists(t, next, keys)) {
            on += b ? 1 : 0;
          }
        } catch (RuntimeException e) {
          // Sentinel's failover kills client connections: ask again
        }
        if (on >= count) {
          return;
        }
        TimeUnit.MILLISECONDS.sleep(100);
      }
    }

    /** As {@link FailoverRecovery}: promotion → first write on the new master, fault → it, errors, acks after the promotion not on it. */
    double[] analyse(RedisHaTopology t, RedisProcess next, long promotedAt, long faultAt) {
      List<Ack> after = acks.stream().filter(a -> a.atNanos() > promotedAt).collect(Collectors.toList());
      boolean[] onNew = FailoverRecovery.exists(t, next, after.stream().map(Ack::key).collect(Collectors.toList()));
      long first = Long.MAX_VALUE;
      long lost = 0;
      for (int i = 0; i < onNew.length; i++) {
        if (onNew[i]) {
          first = Math.min(first, after.get(i).atNanos());
        } else {
          lost++;
        }
      }
      return new double[] {first == Long.MAX_VALUE ? Double.NaN : (first - promotedAt) / 1e6,
          first == Long.MAX_VALUE ? Double.NaN : (first - faultAt) / 1e6, errors.get(), lost};
    }
  }

  /** Every pod's light writer: one SET a second, jittered (0.8–1.2 s), at most one in flight per pod. */
  static final class LightWriters implements AutoCloseable {
    static final int THREADS = 2 + 32;
    final AtomicLong ok = new AtomicLong();
    final AtomicLong errors = new AtomicLong();
    private final ScheduledExecutorService timer = Executors.newScheduledThreadPool(2, r -> daemon(r, "fleet-light-timer"));
    private final ExecutorService workers = Executors.newFixedThreadPool(32, r -> daemon(r, "fleet-light-writer"));
    private volatile boolean closed;

    LightWriters(List<PodApi> pods) {
      for (int i = 0; i < pods.size(); i++) {
        PodApi pod = pods.get(i);
        String prefix = "fleet-light:" + i + ":";
        schedule(pod, prefix, new AtomicLong(), ThreadLocalRandom.current().nextInt(1_000));
      }
    }

    private void schedule(PodApi pod, String prefix, AtomicLong n, long delayMillis) {
      if (closed) {
        return;
      }
      try {
        timer.schedule(() -> workers.execute(() -> {
          try {
            pod.set(prefix + n.incrementAndGet(), "v");
            ok.incrementAndGet();
          } catch (RuntimeException e) {
            errors.incrementAndGet();
          }
          schedule(pod, prefix, n, 800 + ThreadLocalRandom.current().nextInt(400));
        }), delayMillis, TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        // closed
      }
    }

    private static Thread daemon(Runnable r, String name) {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    }

    @Override
    public void close() {
      closed = true;
      timer.shutdownNow();
      workers.shutdownNow();
    }
  }
}
