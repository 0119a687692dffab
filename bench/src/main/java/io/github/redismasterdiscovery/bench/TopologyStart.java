package io.github.redismasterdiscovery.bench;

import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * How long the testkit's topology (1 master, 2 replicas, 3 Sentinels, the Kubernetes mock API and its
 * pods) takes to start and to close, as local processes and as Docker containers of {@code
 * bench.image} (default {@code local/redis:7}). The first container topology of a JVM also pays for
 * Testcontainers' own start-up; it is reported apart.
 */
final class TopologyStart {

  record Timing(String runtime, long firstStartMillis, List<Long> startMillis, List<Long> closeMillis) {}

  final List<Timing> timings = new ArrayList<>();

  void run(int rounds, String image) {
    timings.add(measure("processes", rounds, () -> RedisHaTopology.builder().start()));
    timings.add(measure("containers (" + image + ")", rounds, () -> RedisHaTopology.builder().containers(image).start()));
  }

  private static Timing measure(String runtime, int rounds, Supplier<RedisHaTopology> start) {
    long first = -1;
    List<Long> starts = new ArrayList<>();
    List<Long> closes = new ArrayList<>();
    for (int i = 0; i <= rounds; i++) {
      long t0 = System.nanoTime();
      RedisHaTopology t = start.get();
      long started = (System.nanoTime() - t0) / 1_000_000;
      long t1 = System.nanoTime();
      t.close();
      long closed = (System.nanoTime() - t1) / 1_000_000;
      if (i == 0) {
        first = started; // warm-up: class loading, and for containers Testcontainers' discovery of the engine
      } else {
        starts.add(started);
        closes.add(closed);
      }
    }
    return new Timing(runtime, first, starts, closes);
  }

  String markdown() {
    StringBuilder md = new StringBuilder("## Testkit: topology start\n\n")
        .append("`RedisHaTopology.builder().start()` until every replica is linked, a write is acknowledged by all (`WAIT`), every ")
        .append("Sentinel knows its peers and replicas, and the pods exist; then `close()`. Milliseconds; the first start of a JVM apart ")
        .append("(class loading; for containers, Testcontainers finding the engine).\n\n")
        .append("| runtime | first start | start p50 | start max | close p50 |\n|---|---|---|---|---|\n");
    for (Timing t : timings) {
      md.append("| ").append(t.runtime()).append(" | ").append(t.firstStartMillis()).append(" | ").append(p50(t.startMillis()))
          .append(" | ").append(t.startMillis().stream().mapToLong(Long::longValue).max().orElse(-1)).append(" | ")
          .append(p50(t.closeMillis())).append(" |\n");
    }
    return md.toString();
  }

  private static long p50(List<Long> values) {
    List<Long> sorted = values.stream().sorted().toList();
    return sorted.isEmpty() ? -1 : sorted.get(sorted.size() / 2);
  }
}
