package io.github.redismasterdiscovery.examples;

import io.github.redismasterdiscovery.FailoverCommandExecutor;
import io.github.redismasterdiscovery.FailoverConnectionProvider;
import io.github.redismasterdiscovery.MasterDiscovery;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.CommandObjects;
import redis.clients.jedis.Connection;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.UnifiedJedis;

/** Counts hits for a minute, ten a second, through whatever failover happens meanwhile. */
public class TryItPlainJava {
  public static void main(String[] args) throws InterruptedException {
    String[] sentinels = args.length > 0 ? args : new String[] {"127.0.0.1:26379", "127.0.0.1:26380", "127.0.0.1:26381"};
    JedisClientConfig redisConfig = DefaultJedisClientConfig.builder().build(); // no password locally
    try (MasterDiscovery discovery = MasterDiscovery.builder().sentinels(sentinels).masterName("mymaster").build();
        FailoverConnectionProvider provider = new FailoverConnectionProvider(discovery, new GenericObjectPoolConfig<Connection>(), redisConfig);
        UnifiedJedis redis = new UnifiedJedis(new FailoverCommandExecutor(provider), provider, new CommandObjects())) {
      System.out.println("master: " + discovery.awaitMaster(Duration.ofSeconds(10)));
      for (int i = 1; i <= 600; i++) {
        try {
          long hits = redis.incr("try-it:hits"); // refused by a failover before it ran: retried on the new master
          if (i % 10 == 0) {
            System.out.println(LocalTime.now().truncatedTo(ChronoUnit.SECONDS) + " hits " + hits + " on " + discovery.snapshot().master().orElse(null));
          }
        } catch (RuntimeException e) { // in flight when the master died: it may have run there, so it is not retried
          System.out.println("failed: " + e.getMessage());
        }
        Thread.sleep(100);
      }
    }
  }
}
