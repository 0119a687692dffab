package io.github.redismasterdiscovery.examples;

import io.github.redismasterdiscovery.FailoverJedisPool;
import io.github.redismasterdiscovery.MasterDiscovery;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPool;

/** Plain JedisPool code, one constructor changed: counts hits for a minute, ten a second. */
public class TryItJedisPool {
  public static void main(String[] args) throws InterruptedException {
    String[] sentinels = args.length > 0 ? args : new String[] {"127.0.0.1:26379", "127.0.0.1:26380", "127.0.0.1:26381"};
    GenericObjectPoolConfig<Jedis> poolConfig = new GenericObjectPoolConfig<>();
    poolConfig.setMaxWait(Duration.ofSeconds(10)); // longer than a kill -9 takes (down-after 2 s here, then the election)
    try (MasterDiscovery discovery = MasterDiscovery.builder().sentinels(sentinels).masterName("mymaster").build();
        JedisPool pool = new FailoverJedisPool(discovery, poolConfig)) { // was: new JedisPool(poolConfig, "127.0.0.1", 6379)
      for (int i = 1; i <= 600; i++) {
        try (Jedis jedis = pool.getResource()) {
          long hits = jedis.incr("try-it:hits");
          if (i % 10 == 0) {
            System.out.println(LocalTime.now().truncatedTo(ChronoUnit.SECONDS) + " hits " + hits + " on " + discovery.snapshot().master().orElse(null));
          }
        } catch (RuntimeException e) {
          System.out.println("failed: " + e.getMessage()); // the call in flight when the master died, if any
        }
        Thread.sleep(100);
      }
    }
  }
}
