package io.github.redismasterdiscovery.bench;

import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import redis.clients.jedis.Jedis;

/**
 * Samples every Redis node and Sentinel of a topology every {@value #PERIOD_MILLIS} ms, all at once,
 * each on a connection of its own kept open (so the monitor adds one steady connection per server and
 * no new ones): {@code INFO all} (connected clients, connections received, every command's calls) and
 * the process's CPU from {@code /proc/<pid>/stat}; with each sample, the Kubernetes mock API's request
 * count and this JVM's CPU. {@link #window} turns two samples into what each server did between them.
 *
 * <p>The monitor's own {@code INFO} is left out of every count; so are the {@code ROLE} calls the
 * harness itself makes, counted in {@link #harnessRoles} by whoever makes them.
 */
final class ServerMonitor implements AutoCloseable {

  static final long PERIOD_MILLIS = 100;
  private static final double TICKS_PER_SECOND = 100; // USER_HZ on Linux

  /** What one server said at one moment; null fields for a server that did not answer. */
  record ServerSample(long pid, long connected, long connectionsReceived, long commandsProcessed, long ownInfoBefore, Map<String, Long> calls,
      long cpuTicks) {}

  /** All servers at one moment. */
  record Sample(long nanos, ServerSample[] servers, long[] harnessRoles, long apiRequests, long apiWatches, long jvmCpuNanos) {}

  /** What one server did between two samples; null when it was down or restarted in between. */
  record Delta(double seconds, Map<String, Long> calls, long commands, long newConnections, long connectedAtEnd, double cpuMillis) {
    long calls(String command) {
      return calls.getOrDefault(command, 0L);
    }

    /** Commands other than the applications' own SETs (which every replica also counts, replicated): what discovery costs. */
    long library() {
      return commands - calls("set");
    }
  }

  final RedisHaTopology topology;
  final List<RedisProcess> servers;
  /** ROLE calls the harness made to each server (same order as {@link #servers}), to be left out. */
  final AtomicLongArray harnessRoles;
  private final Jedis[] connections;
  private final long[] ownInfo;
  private final ExecutorService pool;
  private final Thread thread;
  private final List<Sample> samples = new ArrayList<>();
  private volatile boolean closed;

  ServerMonitor(RedisHaTopology topology) {
    this.topology = topology;
    this.servers = new ArrayList<>(topology.nodes());
    servers.addAll(topology.sentinels());
    this.harnessRoles = new AtomicLongArray(servers.size());
    this.connections = new Jedis[servers.size()];
    this.ownInfo = new long[servers.size()];
    this.pool = Executors.newFixedThreadPool(servers.size(), r -> {
      Thread t = new Thread(r, "fleet-monitor-io");
      t.setDaemon(true);
      return t;
    });
    this.thread = new Thread(this::loop, "fleet-monitor");
    thread.setDaemon(true);
    thread.start();
  }

  /** A short name for server {@code i}: {@code node-0}, {@code sentinel-2}. */
  String name(int i) {
    return servers.get(i).name();
  }

  int indexOf(RedisProcess server) {
    return servers.indexOf(server);
  }

  private void loop() {
    while (!closed) {
      long next = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PERIOD_MILLIS);
      Sample s = sampleNow();
      synchronized (samples) {
        samples.add(s);
        samples.notifyAll();
      }
      long wait = next - System.nanoTime();
      if (wait > 0) {
        try {
          TimeUnit.NANOSECONDS.sleep(wait);
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  private Sample sampleNow() {
    long[] roles = new long[servers.size()];
    for (int i = 0; i < roles.length; i++) {
      roles[i] = harnessRoles.get(i);
    }
    long at = System.nanoTime();
    List<CompletableFuture<ServerSample>> asks = new ArrayList<>();
    for (int i = 0; i < servers.size(); i++) {
      int index = i;
      asks.add(CompletableFuture.supplyAsync(() -> ask(index), pool));
    }
    ServerSample[] out = new ServerSample[servers.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = asks.get(i).join();
    }
    long requests = -1;
    long watches = -1;
    if (topology.kubernetes() != null) {
      List<String> r = topology.kubernetes().requests();
      requests = r.size();
      watches = r.stream().filter(x -> x.contains("watch=true")).count();
    }
    long cpu = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    return new Sample(at, out, roles, requests, watches, cpu);
  }

  /** One sample of server {@code i}; a connection Sentinel killed (it kills client connections when it promotes) is replaced at once. */
  private ServerSample ask(int i) {
    ServerSample s = askOnce(i);
    return s != null || !servers.get(i).isRunning() ? s : askOnce(i);
  }

  private ServerSample askOnce(int i) {
    RedisProcess server = servers.get(i);
    if (!server.isRunning()) {
      closeConnection(i);
      return null;
    }
    try {
      if (connections[i] == null) {
        connections[i] = topology.connect(server);
      }
      // Sentinel (7.0) has no commandstats section: there only the total is known
      String info = server.isSentinel() ? connections[i].info() : connections[i].info("all");
      long infoBefore = ownInfo[i]++;
      Map<String, Long> calls = new HashMap<>();
      long connected = -1;
      long received = -1;
      long processed = -1;
      long pid = -1;
      for (String line : info.split("\r?\n")) {
        if (line.startsWith("cmdstat_")) {
          int colon = line.indexOf(':');
          int comma = line.indexOf(',', colon);
          calls.put(line.substring("cmdstat_".length(), colon), Long.parseLong(line.substring(colon + "calls=".length() + 1, comma)));
        } else if (line.startsWith("connected_clients:")) {
          connected = value(line);
        } else if (line.startsWith("total_connections_received:")) {
          received = value(line);
        } else if (line.startsWith("total_commands_processed:")) {
          processed = value(line);
        } else if (line.startsWith("process_id:")) {
          pid = value(line);
        }
      }
      return new ServerSample(pid, connected, received, processed, infoBefore, calls, cpuTicks(pid));
    } catch (RuntimeException e) {
      closeConnection(i);
      return null;
    }
  }

  private void closeConnection(int i) {
    if (connections[i] != null) {
      try {
        connections[i].close();
      } catch (RuntimeException ignored) {
        // already broken
      }
      connections[i] = null;
    }
  }

  private static long value(String line) {
    return Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
  }

  /** utime + stime of the process, in clock ticks; -1 where /proc cannot tell. */
  private static long cpuTicks(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15 of stat(5), counted after the command name
    } catch (Exception e) {
      return -1;
    }
  }

  /** The first sample taken at or after {@code nanos}, waiting for it (a window starts and ends up to one period late). */
  Sample at(long nanos) throws InterruptedException {
    synchronized (samples) {
      while (true) {
        for (Sample s : samples) {
          if (s.nanos() >= nanos) {
            return s;
          }
        }
        if (closed) {
          throw new IllegalStateException("monitor closed");
        }
        samples.wait(1_000);
      }
    }
  }

  /** What server {@code i} did between {@code from} and {@code to}, the harness's own INFO and ROLE left out; null if n/a. */
  Delta window(Sample from, Sample to, int i) {
    ServerSample a = from.servers()[i];
    ServerSample b = to.servers()[i];
    if (a == null || b == null || a.pid() != b.pid()) {
      return null;
    }
    Map<String, Long> calls = new HashMap<>();
    long total = 0;
    if (b.calls().isEmpty()) {
      // a Sentinel: every command but our INFO (INFO does not count itself, so those of samples a .. b-1)
      total = (b.commandsProcessed() - a.commandsProcessed()) - (b.ownInfoBefore() - a.ownInfoBefore());
      calls.put("(all; Sentinel has no commandstats)", total);
    }
    for (Map.Entry<String, Long> e : b.calls().entrySet()) {
      long d = e.getValue() - a.calls().getOrDefault(e.getKey(), 0L);
      if (e.getKey().equals("info")) {
        continue;
      }
      if (e.getKey().equals("role")) {
        d -= to.harnessRoles()[i] - from.harnessRoles()[i];
      }
      if (d > 0) {
        calls.put(e.getKey(), d);
        total += d;
      }
    }
    double seconds = (to.nanos() - from.nanos()) / 1e9;
    double cpu = a.cpuTicks() < 0 || b.cpuTicks() < 0 ? Double.NaN : (b.cpuTicks() - a.cpuTicks()) * 1000 / TICKS_PER_SECOND;
    // our own connection is one of connected_clients; it never reconnects while the server runs
    return new Delta(seconds, calls, total, b.connectionsReceived() - a.connectionsReceived(), b.connected() - 1, cpu);
  }

  @Override
  public void close() {
    closed = true;
    thread.interrupt();
    try {
      thread.join(2_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    pool.shutdownNow();
    for (int i = 0; i < connections.length; i++) {
      closeConnection(i);
    }
    synchronized (samples) {
      samples.notifyAll();
    }
  }
}
