package io.github.redismasterdiscovery.examples;

import io.github.redismasterdiscovery.FailoverJedisPool;
import io.github.redismasterdiscovery.LabelPreset;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPool;

/**
 * The library's main job, locally: starts a real Redis HA topology (1 master, 2 replicas, 3
 * Sentinels, a Kubernetes API whose {@code isMaster} label lags Sentinel by 1 s), writes through a
 * {@link FailoverJedisPool} from 4 threads, {@code kill -9}s the master, and prints what the
 * application saw. Run: {@code ./mvnw -B -q install -DskipTests && ./mvnw -B -q -pl examples exec:java}.
 */
public final class FailoverDemo {

  private FailoverDemo() {}

  public static void main(String[] args) throws Exception {
    System.out.println("starting 3 redis-server + 3 Sentinels on loopback and a Kubernetes mock API ...");
    try (RedisHaTopology redis = RedisHaTopology.builder().labelLag(Duration.ofSeconds(1)).start();
        MasterDiscovery discovery = MasterDiscovery.builder()
            .kubernetesLabels(LabelPreset.BITNAMI)
            .namespace(redis.kubernetes().namespace())
            .kubernetesClient(redis.kubernetes().newClient())
            .sentinels(redis.sentinelAddresses())
            .masterName(redis.masterName())
            .listener((before, after) -> System.out.printf("  >> master is now %s (from %s)%n",
                after.master().map(Object::toString).orElse("none"), after.source().map(Object::toString).orElse("-")))
            .build()) {
      System.out.printf("topology up in %d ms; master %s%n", redis.startMillis(), discovery.awaitMaster(Duration.ofSeconds(10)));
      GenericObjectPoolConfig<Jedis> poolConfig = new GenericObjectPoolConfig<>();
      poolConfig.setMaxWait(Duration.ofSeconds(5));
      JedisPool pool = new FailoverJedisPool(discovery, poolConfig);
      LegacyCounter counter = new LegacyCounter(pool);
      AtomicLong ok = new AtomicLong();
      AtomicLong failed = new AtomicLong();
      Thread[] writers = new Thread[4];
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
      for (int i = 0; i < writers.length; i++) {
        String page = "page-" + i;
        writers[i] = new Thread(() -> {
          while (System.nanoTime() < until) {
            try {
              counter.hit(page);
              ok.incrementAndGet();
            } catch (RuntimeException e) {
              failed.incrementAndGet();
            }
          }
        }, "writer-" + i);
        writers[i].start();
      }
      TimeUnit.SECONDS.sleep(2); // demo pacing: let the writers run before the fault
      RedisProcess master = redis.master();
      System.out.printf("kill -9 %s after %d successful writes%n", master.address(), ok.get());
      long killedAt = System.nanoTime();
      master.kill();
      for (Thread w : writers) {
        w.join();
      }
      System.out.printf("done: %d writes succeeded, %d failed (in %.1f s after the kill); pool %s%n", ok.get(), failed.get(),
          (System.nanoTime() - killedAt) / 1e9, pool);
      pool.close();
    }
  }
}
