package io.github.redismasterdiscovery.examples;

import io.github.redismasterdiscovery.FailoverCommandExecutor;
import io.github.redismasterdiscovery.FailoverConnectionProvider;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.RetryPolicy;
import java.time.Duration;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.CommandObjects;
import redis.clients.jedis.Connection;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.UnifiedJedis;

/**
 * The library as a plain Maven dependency: a {@link MasterDiscovery} the application builds, a
 * {@link FailoverConnectionProvider} following it, and Jedis' {@code UnifiedJedis} on top with the
 * retrying executor (Jedis 8: {@code RedisClient.builder().connectionProvider(provider)
 * .commandExecutor(executor).build()}). A page-hit counter, to have something to count.
 *
 * <p>It owns all three and closes them in the reverse order: client, provider, then discovery.
 */
public final class PlainJavaCounter implements AutoCloseable {

  private final MasterDiscovery discovery;
  private final FailoverConnectionProvider provider;
  private final UnifiedJedis redis;

  /** Follows the master {@code discovery} finds (this counter closes it); connections use {@code clientConfig}. */
  public PlainJavaCounter(MasterDiscovery discovery, JedisClientConfig clientConfig) {
    this.discovery = discovery;
    GenericObjectPoolConfig<Connection> pool = new GenericObjectPoolConfig<>();
    pool.setMaxTotal(16);
    pool.setMaxWait(Duration.ofSeconds(2));
    this.provider = new FailoverConnectionProvider(discovery, pool, clientConfig);
    // Retries what certainly did not run (no connection, READONLY, the write fence), ambiguous failures only for reads.
    FailoverCommandExecutor executor = new FailoverCommandExecutor(provider, RetryPolicy.defaults());
    this.redis = new UnifiedJedis(executor, provider, new CommandObjects());
  }

  /** Counts a hit on {@code page}; returns the new count. */
  public long hit(String page) {
    return redis.incr("hits:" + page);
  }

  /** The count of {@code page}. */
  public long hits(String page) {
    String v = redis.get("hits:" + page);
    return v == null ? 0 : Long.parseLong(v);
  }

  @Override
  public void close() {
    redis.close();
    provider.close();
    discovery.close();
  }
}
