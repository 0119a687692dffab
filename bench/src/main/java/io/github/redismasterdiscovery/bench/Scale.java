package io.github.redismasterdiscovery.bench;

import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.github.redismasterdiscovery.FailoverJedisPool;
import io.github.redismasterdiscovery.LabelPreset;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Discovery's cost with 1,000 unrelated pods in the namespace, and how many watches 50 pools open. */
final class Scale {

  long heapBytes3;
  long heapBytes1003;
  double cpuMs3;
  double cpuMs1003;
  long listRequests50;
  long watchRequests50;

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
