package io.github.redismasterdiscovery.examples;

import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPool;

/**
 * Application code as it exists today, written against Jedis' {@link JedisPool}. It does not know
 * about this library: hand it a {@code FailoverJedisPool} and it follows failovers unchanged.
 */
public final class LegacyCounter {

  private final JedisPool pool;

  public LegacyCounter(JedisPool pool) {
    this.pool = pool;
  }

  /** Counts a page view and returns the new total. */
  public long hit(String page) {
    try (Jedis jedis = pool.getResource()) {
      jedis.sadd("pages", page);
      return jedis.incr("views:" + page);
    }
  }

  /** The total for a page. */
  public long views(String page) {
    try (Jedis jedis = pool.getResource()) {
      String v = jedis.get("views:" + page);
      return v == null ? 0 : Long.parseLong(v);
    }
  }
}
