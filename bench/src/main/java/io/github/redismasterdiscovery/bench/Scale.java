package io.github.redismasterdiscovery.bench;

import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.github.redismasterdiscovery.FailoverJedisPool;
import io.github.redismasterdiscovery.LabelPreset;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import redis.clients.jedis.Jedis;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Discovery's cost with 1,000 unrelated pods in the namespace, how many watches 50 pools open, and a
 * fleet of 100 idle discoveries (as if 100 application pods) against one Redis: commands per second
 * and connections at every server, threads and CPU of the JVM.
 */
final class Scale {

  long heapBytes3;
  long heapBytes1003;
  double cpuMs3;
  double cpuMs1003;
  long listRequests50;
  long watchRequests50;

  /** The fleet: discoveries, seconds observed, and per server (nodes, then Sentinels) commands/s and connections. */
  int fleetSize;
  double fleetSeconds;
  final List<String> fleetServers = new ArrayList<>();
  final List<Double> fleetCommandsPerSecond = new ArrayList<>();
  /** The same servers' commands/s over a window of the same length before any discovery: Sentinel's own monitoring, the testkit's label updater. */
  final List<Double> fleetBaselinePerSecond = new ArrayList<>();
  final List<Long> fleetConnections = new ArrayList<>();
  long fleetThreads;
  double fleetCpuMsPerSecond;

  void run() throws Exception {
    try (RedisHaTopology t = RedisHaTopology.builder().start()) {
      t.labels().pause();
      KubernetesClient client = t.kubernetes().newClient();
      long[] small = measureDiscovery(t, client);
      heapBytes3 = small[0];
      cpuMs3 = small[1] / 1e6;
      for (int i = 0; i < 1_000; i++) {
        client.pods().inNamespace("redis").resource(new PodBuilder()
            .withNewMetadata().withName("other-" + i).addToLabels("app", "other").addToLabels("isMaster", "false").endMetadata()
            .withNewStatus().withPodIP("10.9." + (i / 250) + "." + (i % 250)).endStatus().build()).create();
      }
      long[] large = measureDiscovery(t, client);
      heapBytes1003 = large[0];
      cpuMs1003 = large[1] / 1e6;

      int before = t.kubernetes().requests().size();
      List<MasterDiscovery> discoveries = new ArrayList<>();
      List<FailoverJedisPool> pools = new ArrayList<>();
      try {
        for (int i = 0; i < 50; i++) {
          MasterDiscovery d = MasterDiscovery.builder().kubernetesLabels(LabelPreset.BITNAMI).namespace("redis").kubernetesClient(client).build();
          discoveries.add(d);
          pools.add(new FailoverJedisPool(d));
        }
        for (MasterDiscovery d : discoveries) {
          d.awaitMaster(Duration.ofSeconds(10));
        }
        TimeUnit.SECONDS.sleep(1);
        List<String> requests = t.kubernetes().requests().subList(before, t.kubernetes().requests().size());
        watchRequests50 = requests.stream().filter(r -> r.contains("watch=true")).count();
        listRequests50 = requests.size() - watchRequests50;
      } finally {
        pools.forEach(FailoverJedisPool::close);
        discoveries.forEach(MasterDiscovery::close);
      }
    }
  }

  /**
   * 100 discoveries (labels and Sentinels, all defaults) idle for {@code seconds}. In one JVM they
   * share one subscription per Sentinel and the pod informer; 100 real pods would each hold their
   * own, so per-pod figures at the Sentinels are one connection and one subscription each.
   */
  void fleet(int size, int seconds) throws Exception {
    fleetSize = size;
    try (RedisHaTopology t = RedisHaTopology.builder().start()) {
      KubernetesClient client = t.kubernetes().newClient();
      List<RedisProcess> servers = new ArrayList<>(t.nodes());
      servers.addAll(t.sentinels());
      long[] before = new long[servers.size()];
      long[] connectedBefore = new long[servers.size()];
      for (int i = 0; i < servers.size(); i++) {
        before[i] = stat(t, servers.get(i), "stats", "total_commands_processed");
        connectedBefore[i] = stat(t, servers.get(i), "clients", "connected_clients");
      }
      long b0 = System.nanoTime();
      TimeUnit.SECONDS.sleep(seconds); // the baseline window: no discovery yet
      double baselineSeconds = (System.nanoTime() - b0) / 1e9;
      for (int i = 0; i < servers.size(); i++) {
        fleetBaselinePerSecond.add((stat(t, servers.get(i), "stats", "total_commands_processed") - before[i] - 2) / baselineSeconds);
      }
      long threadsBefore = rmdThreads();
      List<MasterDiscovery> fleet = new ArrayList<>();
      try {
        for (int i = 0; i < size; i++) {
          fleet.add(MasterDiscovery.builder().kubernetesLabels(LabelPreset.BITNAMI).namespace("redis").kubernetesClient(client)
              .sentinels(t.sentinelAddresses()).masterName(t.masterName()).clientConfig(t.clientConfig())
              .sentinelClientConfig(t.sentinelClientConfig()).build());
        }
        for (MasterDiscovery d : fleet) {
          d.awaitMaster(Duration.ofSeconds(30));
        }
        TimeUnit.SECONDS.sleep(6); // past start-up (first rounds, chases, Sentinel queries): measure the idle state only
        com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        for (int i = 0; i < servers.size(); i++) {
          before[i] = stat(t, servers.get(i), "stats", "total_commands_processed");
        }
        long cpu0 = os.getProcessCpuTime();
        long t0 = System.nanoTime();
        TimeUnit.SECONDS.sleep(seconds); // the observation window
        fleetSeconds = (System.nanoTime() - t0) / 1e9;
        fleetCpuMsPerSecond = (os.getProcessCpuTime() - cpu0) / 1e6 / fleetSeconds;
        for (int i = 0; i < servers.size(); i++) {
          RedisProcess server = servers.get(i);
          // INFO itself counts as a command: take ours (two per server) off
          double perSecond = (stat(t, server, "stats", "total_commands_processed") - before[i] - 2) / fleetSeconds;
          fleetServers.add((server.isSentinel() ? "Sentinel " : "node ") + server.address());
          fleetCommandsPerSecond.add(perSecond);
          fleetConnections.add(stat(t, server, "clients", "connected_clients") - connectedBefore[i]);
        }
        fleetThreads = rmdThreads() - threadsBefore;
      } finally {
        fleet.forEach(MasterDiscovery::close);
      }
    }
  }

  private static long stat(RedisHaTopology t, RedisProcess server, String section, String field) {
    try (Jedis j = t.connect(server)) {
      for (String line : j.info(section).split("\r?\n")) {
        if (line.startsWith(field + ":")) {
          return Long.parseLong(line.substring(field.length() + 1).trim());
        }
      }
    }
    throw new IllegalStateException(field + " not in INFO " + section);
  }

  private static long rmdThreads() {
    return Thread.getAllStackTraces().keySet().stream().filter(th -> th.isAlive() && th.getName().startsWith("rmd-")
        && !th.getName().startsWith("rmd-testkit")).count();
  }

  /** Retained heap of one running discovery (after GC) and the process CPU it used over 5 idle seconds. */
  private static long[] measureDiscovery(RedisHaTopology t, KubernetesClient client) throws Exception {
    long heapBefore = usedHeapAfterGc();
    try (MasterDiscovery d = MasterDiscovery.builder().kubernetesLabels(LabelPreset.BITNAMI).namespace("redis").kubernetesClient(client).build()) {
      d.awaitMaster(Duration.ofSeconds(10));
      TimeUnit.SECONDS.sleep(1);
      long heap = usedHeapAfterGc() - heapBefore;
      com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
      long cpu0 = os.getProcessCpuTime();
      TimeUnit.SECONDS.sleep(5);
      long cpu = os.getProcessCpuTime() - cpu0;
      return new long[] {heap, cpu};
    }
  }

  private static long usedHeapAfterGc() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      TimeUnit.MILLISECONDS.sleep(100);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }
}
