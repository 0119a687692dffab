package io.github.redismasterdiscovery.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * One simulated pod in a JVM of its own, for the fleet harness's equivalence check: a {@link FleetPod}
 * and its light writer (one {@code SET} a second, jittered) until its standard input closes. Arguments
 * are the pod's settings as {@code key=value}. Prints {@code POD-READY threads=<n> heapBytes=<n>}: the
 * JVM threads and the heap (after GC) the pod added to an idle JVM.
 */
public final class FleetPodMain {

  private FleetPodMain() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> settings = new HashMap<>();
    for (String a : args) {
      settings.put(a.substring(0, a.indexOf('=')), a.substring(a.indexOf('=') + 1));
    }
    int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();
    long heapBefore = usedHeapAfterGc();
    try (PodApi pod = new FleetPod(settings)) {
      pod.awaitMaster(60_000);
      Thread writer = new Thread(() -> {
        String prefix = "fleet-light:" + ProcessHandle.current().pid() + ":";
        for (long n = 0; !Thread.currentThread().isInterrupted(); n++) {
          try {
            pod.set(prefix + n, "v");
          } catch (RuntimeException e) {
            // a light writer only keeps the pool in use
          }
          try {
            TimeUnit.MILLISECONDS.sleep(800 + ThreadLocalRandom.current().nextInt(400));
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "fleet-light-writer");
      writer.setDaemon(true);
      writer.start();
      TimeUnit.SECONDS.sleep(3);
      long heap = usedHeapAfterGc() - heapBefore;
      int threads = ManagementFactory.getThreadMXBean().getThreadCount() - threadsBefore - 1; // not the writer
      System.out.println("POD-READY threads=" + threads + " heapBytes=" + heap);
      System.out.flush();
      try {
        while (System.in.read() >= 0) {
          // until the harness closes our standard input
        }
      } catch (IOException e) {
        // the harness went away
      }
      writer.interrupt();
    }
  }

  static long usedHeapAfterGc() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      TimeUnit.MILLISECONDS.sleep(100);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }
}
