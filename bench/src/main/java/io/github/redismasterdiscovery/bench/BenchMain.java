package io.github.redismasterdiscovery.bench;

import io.github.redismasterdiscovery.testkit.RedisBinary;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Runs every benchmark in one JVM and writes {@code docs/benchmarks.md} and
 * {@code bench/results/latest.json}. Settings (system properties): {@code bench.rounds} (5),
 * {@code bench.seconds} per measurement (2), {@code bench.failovers} per client and fault (10),
 * {@code bench.sections} (steady,failover,scale; {@code reads} runs the replica-reads comparison, written
 * to {@code docs/benchmarks-replica-reads.md} on its own so that it can be run alone; {@code patterns} runs the usage
 * patterns through failover ({@link UsagePatterns}), {@code bench.failovers} (3 there) per client and fault, written to
 * {@code docs/benchmarks-usage-patterns.md} on its own; {@code testkit} times the testkit's topology start as processes
 * and as containers of {@code bench.image}, written to {@code docs/benchmarks-testkit.md}, also on its own; {@code fleet} runs
 * {@link Fleet}, N simulated pods that share nothing a server sees, for each N of {@code bench.fleet.sizes} (5,100,500,1000), after an
 * equivalence check of {@code bench.fleet.equivalence} pods (5; 0 skips it), pods isolated as {@code bench.fleet.isolation}
 * (CLASS_LOADER or CLIENT_NAME), rest windows of {@code bench.fleet.rest} s (10), written to {@code docs/benchmarks-fleet.md} and
 * {@code bench/results/fleet.jsonl}; with {@code bench.fleet.keep=true} the results of the last run ({@code
 * bench/results/fleet-results.json}) are kept where this run does not replace them).
 */
public final class BenchMain {

  private BenchMain() {}

  public static void main(String[] args) throws Exception {
    int rounds = Integer.getInteger("bench.rounds", 5);
    int seconds = Integer.getInteger("bench.seconds", 2);
    int failovers = Integer.getInteger("bench.failovers", 10);
    String sections = System.getProperty("bench.sections", "steady,failover,scale");
    Path root = Path.of(System.getProperty("bench.root", projectRoot())).toAbsolutePath().normalize();
    long start = System.nanoTime();

    SteadyState steady = new SteadyState();
    if (sections.contains("steady")) {
      try (RedisHaTopology t = RedisHaTopology.builder().start()) {
        steady.run(t, rounds, seconds);
      }
    }
    FailoverRecovery failover = new FailoverRecovery();
    if (sections.contains("failover")) {
      failover.run(failovers);
    }
    Scale scale = new Scale();
    if (sections.contains("scale")) {
      scale.run();
      scale.fleet(Integer.getInteger("bench.fleet", 100), 30);
    }
    if (sections.contains("testkit")) {
      TopologyStart starts = new TopologyStart();
      String image = System.getProperty("bench.image", "local/redis:7");
      starts.run(rounds, image);
      String md = "# Benchmarks: the testkit's topology start\n\nLatest run: " + Instant.now() + ".\n\n- Machine: " + machine()
          + "\n- Versions: JDK " + System.getProperty("java.version") + ", Redis " + RedisBinary.version() + " (processes), image "
          + image + " (containers), Docker engine of `.ci/docker-up`\n- Reproduce: `.ci/docker-up`, then `./mvnw -B -q install -DskipTests && "
          + "TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=localhost TESTCONTAINERS_CHECKS_DISABLE=true "
          + "./mvnw -B -q -pl bench exec:java -Dbench.sections=testkit` (rounds " + rounds + ", after one warm-up start each).\n\n"
          + starts.markdown();
      Files.createDirectories(root.resolve("docs"));
      Files.writeString(root.resolve("docs/benchmarks-testkit.md"), md);
      System.out.println(md);
      if (!sections.contains("steady") && !sections.contains("failover") && !sections.contains("scale") && !sections.contains("reads")) {
        return; // run alone: docs/benchmarks.md keeps its last full run
      }
    }
    if (sections.contains("fleet")) {
      runFleet(root);
      if (!sections.contains("steady") && !sections.contains("failover") && !sections.contains("scale") && !sections.contains("reads")
          && !sections.contains("patterns")) {
        return; // run alone: written to docs/benchmarks-fleet.md
      }
    }
    if (sections.contains("reads")) {
      ReplicaReadsBench reads = new ReplicaReadsBench();
      long readsStart = System.nanoTime();
      try (RedisHaTopology t = RedisHaTopology.builder().start()) {
        reads.run(t, rounds, seconds);
      }
      String md = header("reads from replicas", readsStart, "the testkit's 1 master + 2 replicas + 3 Sentinels on loopback.",
          "`./mvnw -B -q install -DskipTests && ./mvnw -B -q -pl bench exec:java -Dbench.sections=reads` (rounds " + rounds + ", "
              + seconds + " s each)") + reads.markdown();
      write(root.resolve("docs/benchmarks-replica-reads.md"), md);
    }
    if (sections.contains("patterns")) {
      int patternFailovers = Integer.getInteger("bench.failovers", 3);
      UsagePatterns patterns = new UsagePatterns();
      long patternsStart = System.nanoTime();
      patterns.run(patternFailovers);
      String md = header("usage patterns through failover", patternsStart, "the testkit's 1 master + 2 replicas + 3 Sentinels on "
              + "loopback (`down-after` 1 s, `failover-timeout` 3 s), Kubernetes labels lagging Sentinel by 1 s; a fresh topology per "
              + "client and fault; same pool settings (maxTotal 32, maxWait 5 s) and client configuration for every pool.",
          patternsCommand(patternFailovers))
          + patterns.markdown();
      write(root.resolve("docs/benchmarks-usage-patterns.md"), md);
    }
    if (!sections.contains("steady") && !sections.contains("failover") && !sections.contains("scale")) {
      return; // sections written to their own files, run alone: docs/benchmarks.md keeps its last full run
    }
    String machine = machine();
    String versions = "JDK " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + "), Redis "
        + RedisBinary.version() + ", Jedis " + jedisVersion();
    double minutes = (System.nanoTime() - start) / 6e10;
    String command = "./mvnw -B -q install -DskipTests && ./mvnw -B -q -pl bench exec:java";
    String settings = String.format("-Dbench.rounds=%d -Dbench.seconds=%d -Dbench.failovers=%d -Dbench.sections=%s", rounds, seconds,
        failovers, sections);

    Files.createDirectories(root.resolve("docs"));
    Files.createDirectories(root.resolve("bench/results"));
    Files.writeString(root.resolve("docs/benchmarks.md"), markdown(steady, failover, scale, machine, versions, command, settings, minutes));
    Files.writeString(root.resolve("bench/results/latest.json"), json(steady, failover, scale, machine, versions, settings));
    System.out.println(Files.readString(root.resolve("docs/benchmarks.md")));
  }

  /** The fleet section: the equivalence check, then every size; the document is rewritten after each, so a size that fails keeps the others. */
  private static void runFleet(Path root) throws Exception {
    String sizes = System.getProperty("bench.fleet.sizes", "5,100,500,1000");
    int equivalence = Integer.getInteger("bench.fleet.equivalence", 5);
    int rest = Integer.getInteger("bench.fleet.rest", 10);
    PodLoader.Isolation isolation = PodLoader.Isolation.valueOf(System.getProperty("bench.fleet.isolation", "CLASS_LOADER"));
    Fleet fleet = new Fleet(isolation, rest);
    if (Boolean.getBoolean("bench.fleet.keep")) {
      fleet.load(root.resolve("bench/results/fleet-results.json")); // merge with an earlier run: same size and phase replaced
    }
    long start = System.nanoTime();
    String reproduce = fleetCommand(sizes, equivalence, rest, isolation);
    if (equivalence > 0) {
      fleet.equivalence(equivalence, Integer.getInteger("bench.fleet.equivalenceWindow", 31));
      writeFleet(root, fleet, start, reproduce);
    }
    boolean ran = equivalence > 0;
    for (String size : sizes.split(",")) {
      if (!size.isBlank()) {
        fleet.run(Integer.parseInt(size.trim()));
        writeFleet(root, fleet, start, reproduce);
        ran = true;
      }
    }
    if (!ran) {
      // nothing run (bench.fleet.sizes empty, bench.fleet.keep=true): only the document is written again from the kept results
      writeFleet(root, fleet, -1, fleetCommand("5,100,500,1000", 5, rest, PodLoader.Isolation.CLASS_LOADER));
    }
  }

  /** Writes the document and the summaries; {@code start} -1: nothing was run, the document is rendered from the kept results. */
  private static void writeFleet(Path root, Fleet fleet, long start, String reproduce) throws IOException {
    String md = header("a fleet of application pods", start, "the testkit's 1 master + 2 replicas + 3 Sentinels on loopback (`down-after` "
            + "1 s, `failover-timeout` 3 s, Redis `maxclients` default 10,000), the Kubernetes mock API, pod labels lagging Sentinel by "
            + Fleet.LABEL_LAG.toSeconds() + " s; a fresh topology per size. Each simulated pod: `MasterDiscovery` with "
            + "`kubernetesLabels(LabelPreset.BITNAMI)` on a `KubernetesClient` of its own and the three Sentinels (`mymaster`), all other "
            + "settings default; a `FailoverJedisPool` (defaults); a light writer (a SET every 0.8–1.2 s). Pod 0 also runs the measured "
            + "writer (a SET every 2 ms). Pods share nothing a server sees (see `PodLoader`: a class loader per pod, so each has its own "
            + "Sentinel links, informer and threads); the equivalence check below compares this with pods in JVMs of their own. "
            + "Commit " + git("rev-parse", "--short", "HEAD") + ", `core/` last changed in " + git("log", "-1", "--format=%h", "--", "core")
            + (git("status", "--porcelain", "--", "core").isEmpty() ? "" : " **plus uncommitted changes to core/**") + "; `ulimit -n` "
            + ulimitN(),
        reproduce);
    if (start < 0) {
      md = md.replaceFirst("Latest run: [^\n]*", "Written " + Instant.now() + " from the kept results of earlier runs "
          + "(`bench/results/fleet-results.json`; every summary line carries the date of its own run).");
    }
    Files.createDirectories(root.resolve("bench/results"));
    Files.writeString(root.resolve("bench/results/fleet.jsonl"), fleet.jsonLines());
    fleet.save(root.resolve("bench/results/fleet-results.json"));
    Files.createDirectories(root.resolve("docs"));
    Path doc = root.resolve("docs/benchmarks-fleet.md");
    // Hand-written notes below this marker survive a re-run: they say what one run meant, which no table can.
    String marker = "<!-- fleet-notes: kept when the harness rewrites this file -->";
    String notes = "";
    if (Files.exists(doc)) {
      String old = Files.readString(doc);
      int at = old.indexOf(marker);
      notes = at < 0 ? "" : "\n" + old.substring(at);
    }
    Files.writeString(doc, md + fleet.markdown() + notes);
  }

  private static String fleetCommand(String sizes, int equivalence, int rest, PodLoader.Isolation isolation) {
    return "`./mvnw -B -q -pl bench -am package org.apache.maven.plugins:maven-dependency-plugin:3.11.0:build-classpath -DskipTests "
        + "-Dmdep.outputFile=target/classpath.txt && java -Dbench.sections=fleet -Dbench.fleet.sizes=" + sizes
        + " -Dbench.fleet.equivalence=" + equivalence + " -Dbench.fleet.rest=" + rest + " -Dbench.fleet.isolation=" + isolation
        + " -cp \"bench/target/classes:$(cat bench/target/classpath.txt)\" io.github.redismasterdiscovery.bench.BenchMain` (from the project "
        + "root; one line `FLEET-SUMMARY {json}` per size and phase on stdout, all of them in `bench/results/fleet.jsonl`)";
  }

  /** The output of a git command in the working directory, "unknown" when git cannot tell. */
  private static String git(String... args) {
    try {
      List<String> command = new ArrayList<>(List.of("git"));
      command.addAll(List.of(args));
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).trim();
      return p.waitFor() == 0 ? out : "unknown";
    } catch (IOException e) {
      return "unknown";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "unknown";
    }
  }

  private static String ulimitN() {
    try {
      Process p = new ProcessBuilder("sh", "-c", "ulimit -n").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).trim();
      return p.waitFor() == 0 ? out : "unknown";
    } catch (IOException e) {
      return "unknown";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "unknown";
    }
  }

  /**
   * How the patterns section is run from the project root: on the reactor's own modules, not on what an
   * earlier {@code install} left in ~/.m2, and without exec:java (which would run in every module of
   * an {@code -am} build).
   */
  private static String patternsCommand(int failovers) {
    return "`./mvnw -B -q -pl bench -am package org.apache.maven.plugins:maven-dependency-plugin:3.11.0:build-classpath -DskipTests "
        + "-Dmdep.outputFile=target/classpath.txt && java -Dbench.sections=patterns -Dbench.failovers=" + failovers
        + " -cp \"bench/target/classes:$(cat bench/target/classpath.txt)\" io.github.redismasterdiscovery.bench.BenchMain` "
        + "(from the project root)";
  }

  /**
   * The head of a section written to its own file: title, date, duration, machine (with the load it
   * ended under: other work shares these cores), versions, topology, how to run it again.
   */
  private static String header(String title, long startNanos, String topology, String reproduce) {
    return "# Benchmarks: " + title + "\n\nLatest run: " + Instant.now() + ", "
        + String.format("%.1f", (System.nanoTime() - startNanos) / 6e10) + " minutes.\n\n- Machine: " + machine() + loadAverage()
        + "\n- Versions: JDK "
        + System.getProperty("java.version") + ", Redis " + RedisBinary.version() + ", Jedis " + jedisVersion() + "\n- Topology: "
        + topology + "\n- Reproduce: " + reproduce + ".\n\n";
  }

  private static void write(Path file, String md) throws IOException {
    Files.createDirectories(file.getParent());
    Files.writeString(file, md);
    System.out.println(md);
  }

  private static String markdown(SteadyState steady, FailoverRecovery failover, Scale scale, String machine, String versions,
      String command, String settings, double minutes) {
    StringBuilder md = new StringBuilder();
    md.append("# Benchmarks\n\n")
        .append("Latest run: ").append(Instant.now()).append(", ").append(String.format("%.1f", minutes)).append(" minutes.\n\n")
        .append("- Machine: ").append(machine).append('\n')
        .append("- Versions: ").append(versions).append('\n')
        .append("- Topology: the testkit's 1 master + 2 replicas + 3 Sentinels on loopback (`down-after` 1 s, `failover-timeout` 3 s), ")
        .append("Kubernetes labels lagging Sentinel by 1 s; every client in the same JVM, same pool settings (maxTotal 32), same client configuration.\n")
        .append("- Reproduce: `").append(command).append("` (settings: `").append(settings).append("`; pass them after `exec:java`).\n\n");
    if (!steady.opsPerSecond.isEmpty()) {
      md.append("## Steady state\n\n")
          .append("Clients interleaved round by round, order rotated, after a warm-up round; every operation timed (borrow, command, ")
          .append("return) into an HdrHistogram. Ratios are FailoverJedisPool / JedisPool, taken per round; the median over the rounds, ")
          .append("with its min–max. Targets: throughput ≥ 0.99×, p99 ≤ 1.05× JedisPool.\n\n")
          .append("### Throughput (ops/s; median of the rounds, min–max)\n\n")
          .append("| case | FailoverJedisPool | JedisPool | JedisSentinelPool | ratio to JedisPool |\n|---|---|---|---|---|\n");
      for (Map.Entry<String, Map<Clients.Kind, List<Double>>> e : steady.opsPerSecond.entrySet()) {
        Map<Clients.Kind, List<Double>> r = e.getValue();
        md.append("| ").append(e.getKey()).append(" | ").append(range(r.get(Clients.Kind.FAILOVER_JEDIS_POOL)))
            .append(" | ").append(range(r.get(Clients.Kind.JEDIS_POOL)))
            .append(" | ").append(range(r.get(Clients.Kind.JEDIS_SENTINEL_POOL)))
            .append(" | ").append(ratio(r.get(Clients.Kind.FAILOVER_JEDIS_POOL), r.get(Clients.Kind.JEDIS_POOL))).append(" |\n");
      }
      md.append("\n### Latency per operation (µs, all rounds: p50 / p99 / p99.9)\n\n")
          .append("| case | FailoverJedisPool | JedisPool | JedisSentinelPool | p99 ratio to JedisPool |\n|---|---|---|---|---|\n");
      for (Map.Entry<String, Map<Clients.Kind, org.HdrHistogram.Histogram>> e : steady.latency.entrySet()) {
        Map<Clients.Kind, org.HdrHistogram.Histogram> h = e.getValue();
        Map<Clients.Kind, List<Double>> p99 = steady.p99PerRound.get(e.getKey());
        md.append("| ").append(e.getKey()).append(" | ").append(latency(h.get(Clients.Kind.FAILOVER_JEDIS_POOL)))
            .append(" | ").append(latency(h.get(Clients.Kind.JEDIS_POOL)))
            .append(" | ").append(latency(h.get(Clients.Kind.JEDIS_SENTINEL_POOL)))
            .append(" | ").append(ratio(p99.get(Clients.Kind.FAILOVER_JEDIS_POOL), p99.get(Clients.Kind.JEDIS_POOL))).append(" |\n");
      }
      md.append('\n');
    }
    if (!failover.samples.isEmpty()) {
      md.append("## Failover recovery (p50 / p90 / max)\n\n")
          .append("One writer, a SET every 2 ms. (a) the new master's promotion (ROLE polled on the replicas every 1 ms) to the ")
          .append("client's first acknowledged write on it; (b) the fault to that write; (c) errors surfaced to the caller; ")
          .append("(d) writes acknowledged after the promotion that the new master does not have: the old master took them and loses ")
          .append("them when it is demoted (for kill -9 it is dead, so 0). Which server took a write is told afterwards by the unique ")
          .append("keys themselves, the same way for every client.\n\n")
          .append("| client | fault | n | (a) ms | (b) ms | (c) errors | (d) lost acks |\n|---|---|---|---|---|---|---|\n");
      for (Map.Entry<String, List<double[]>> e : failover.samples.entrySet()) {
        String[] parts = e.getKey().split(" \\| ");
        List<double[]> s = e.getValue();
        int notMeasured = failover.failed.getOrDefault(e.getKey(), 0);
        md.append("| ").append(parts[0]).append(" | ").append(parts[1]).append(" | ").append(s.size())
            .append(notMeasured == 0 ? "" : " (+" + notMeasured + " not measured)")
            .append(" | ").append(col(s, 0).md("")).append(" | ").append(col(s, 1).md(""))
            .append(" | ").append(col(s, 2).md("")).append(" | ").append(col(s, 3).md("")).append(" |\n");
      }
      md.append('\n');
    }
    if (scale.watchRequests50 > 0 || scale.heapBytes3 != 0) {
      md.append("## Scale\n\n")
          .append("| measure | 3 Redis pods | + 1,000 unrelated pods |\n|---|---|---|\n")
          .append(String.format("| heap retained by one discovery (after GC; noisy) | %.0f KiB | %.0f KiB |%n", scale.heapBytes3 / 1024.0, scale.heapBytes1003 / 1024.0))
          .append(String.format("| process CPU over 5 idle s with discovery running | %.0f ms | %.0f ms |%n", scale.cpuMs3, scale.cpuMs1003))
          .append('\n')
          .append(String.format("50 discoveries with 50 FailoverJedisPools on one client: %d list and %d watch requests at the API server.%n%n",
              scale.listRequests50, scale.watchRequests50))
          .append("The informer's label selector is evaluated by the API server, so unrelated pods never reach the client.\n\n");
    }
    if (scale.fleetSize > 0) {
      md.append(String.format("### A fleet of %d idle discoveries (as %d application pods), %.0f s observed%n%n", scale.fleetSize, scale.fleetSize,
              scale.fleetSeconds))
          .append("All defaults (labels and Sentinels, `verifyInterval` 5 s, Sentinel heartbeat 2 s). In one JVM the discoveries share one ")
          .append("subscription per Sentinel and one pod informer; as separate pods each would hold its own subscription (one connection ")
          .append("and a PING every 2 s per Sentinel), so the Sentinel rows understate a real fleet by that much. The baseline is the same ")
          .append("window before any discovery: Sentinel's own monitoring (PING, INFO, hello) and the testkit's label updater, which asks ")
          .append("every Sentinel every 10 ms; the fleet's own load is the difference.\n\n")
          .append("| server | commands/s, baseline | commands/s, with the fleet | added by the fleet | connections added |\n|---|---|---|---|---|\n");
      for (int i = 0; i < scale.fleetServers.size(); i++) {
        double base = scale.fleetBaselinePerSecond.get(i);
        double with = scale.fleetCommandsPerSecond.get(i);
        md.append(String.format("| %s | %.1f | %.1f | %.1f | %d |%n", scale.fleetServers.get(i), base, with, with - base,
            scale.fleetConnections.get(i)));
      }
      md.append(String.format("%nJVM: %d `rmd-*` threads for %d discoveries; process CPU %.1f ms per second.%n", scale.fleetThreads, scale.fleetSize,
          scale.fleetCpuMsPerSecond));
    }
    return md.toString();
  }

  private static String json(SteadyState steady, FailoverRecovery failover, Scale scale, String machine, String versions, String settings) {
    List<String> s = new ArrayList<>();
    steady.opsPerSecond.forEach((k, r) -> r.forEach((client, v) -> {
      org.HdrHistogram.Histogram h = steady.latency.get(k).get(client);
      s.add(String.format("{\"case\":\"%s\",\"client\":\"%s\",\"opsPerSecond\":%s,\"latencyUs\":{\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f}}",
          k, client.label, Stats.of(v).json(), h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3, h.getValueAtPercentile(99.9) / 1e3));
    }));
    List<String> f = new ArrayList<>();
    failover.samples.forEach((k, v) -> {
      String[] parts = k.split(" \\| ");
      f.add(String.format("{\"client\":\"%s\",\"fault\":\"%s\",\"promotionToFirstWriteMs\":%s,\"faultToFirstWriteMs\":%s,\"errors\":%s,\"lostAcks\":%s}",
          parts[0], parts[1], col(v, 0).json(), col(v, 1).json(), col(v, 2).json(), col(v, 3).json()));
    });
    return String.format("{%n\"date\":\"%s\",%n\"machine\":\"%s\",%n\"versions\":\"%s\",%n\"settings\":\"%s\",%n\"steadyState\":[%n%s%n],%n"
            + "\"failover\":[%n%s%n],%n\"scale\":{\"heapBytes3\":%d,\"heapBytes1003\":%d,\"cpuMs3\":%.1f,\"cpuMs1003\":%.1f,"
            + "\"listRequests50\":%d,\"watchRequests50\":%d},%n\"fleet\":%s%n}%n",
        Instant.now(), machine, versions, settings, String.join(",\n", s), String.join(",\n", f), scale.heapBytes3, scale.heapBytes1003,
        scale.cpuMs3, scale.cpuMs1003, scale.listRequests50, scale.watchRequests50, fleetJson(scale));
  }

  private static String fleetJson(Scale scale) {
    List<String> servers = new ArrayList<>();
    for (int i = 0; i < scale.fleetServers.size(); i++) {
      servers.add(String.format("{\"server\":\"%s\",\"baselineCommandsPerSecond\":%.2f,\"commandsPerSecond\":%.2f,\"connections\":%d}",
          scale.fleetServers.get(i), scale.fleetBaselinePerSecond.get(i), scale.fleetCommandsPerSecond.get(i), scale.fleetConnections.get(i)));
    }
    return String.format("{\"discoveries\":%d,\"seconds\":%.1f,\"threads\":%d,\"cpuMsPerSecond\":%.1f,\"servers\":[%s]}", scale.fleetSize,
        scale.fleetSeconds, scale.fleetThreads, scale.fleetCpuMsPerSecond, String.join(",", servers));
  }

  private static Stats col(List<double[]> rows, int i) {
    return Stats.of(rows.stream().map(r -> r[i]).collect(Collectors.toList()));
  }

  private static String latency(org.HdrHistogram.Histogram h) {
    if (h == null || h.getTotalCount() == 0) {
      return "n/a";
    }
    return String.format("%.0f / %.0f / %.0f", h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3,
        h.getValueAtPercentile(99.9) / 1e3);
  }

  private static String range(List<Double> v) {
    if (v == null || v.isEmpty()) {
      return "n/a";
    }
    Stats s = Stats.of(v);
    return String.format("%.0f (%.0f–%.0f)", s.p50(), s.min(), s.max());
  }

  private static String ratio(List<Double> ours, List<Double> base) {
    if (ours == null || base == null) {
      return "n/a";
    }
    List<Double> r = new ArrayList<>();
    for (int i = 0; i < Math.min(ours.size(), base.size()); i++) {
      r.add(ours.get(i) / base.get(i));
    }
    Stats s = Stats.of(r);
    return String.format("%.3f (%.3f–%.3f)", s.p50(), s.min(), s.max());
  }

  private static String jedisVersion() {
    try (var in = redis.clients.jedis.Jedis.class.getResourceAsStream("/META-INF/maven/redis.clients/jedis/pom.properties")) {
      java.util.Properties p = new java.util.Properties();
      if (in != null) {
        p.load(in);
      }
      return p.getProperty("version", "unknown");
    } catch (IOException e) {
      return "unknown";
    }
  }

  private static String machine() {
    String cpu = "unknown CPU";
    try {
      cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
          .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse(cpu);
    } catch (IOException | RuntimeException e) {
      // not Linux
    }
    return String.format("%s, %d cores, %.0f GiB RAM, %s %s", cpu, Runtime.getRuntime().availableProcessors(),
        ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize() / 1073741824.0,
        System.getProperty("os.name"), System.getProperty("os.version"));
  }

  /** The load averages at the end of the run, where /proc/loadavg exists. */
  private static String loadAverage() {
    try {
      String[] l = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return String.format("; load average at the end %s / %s / %s (1 / 5 / 15 min)", l[0], l[1], l[2]);
    } catch (IOException | RuntimeException e) {
      return ""; // not Linux
    }
  }

  /** The project root whether Maven runs the bench from the root ({@code -pl bench}) or from {@code bench/}. */
  private static String projectRoot() {
    Path here = Path.of("").toAbsolutePath();
    return Files.exists(here.resolve("bench/pom.xml")) ? here.toString() : here.resolve("..").toString();
  }
}
