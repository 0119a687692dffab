package io.github.redismasterdiscovery;

import java.time.Duration;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.RedisProtocol;

/** Copies of a user's Jedis client configuration with the library's own timeouts. */
final class RedisConfigs {

  private RedisConfigs() {}

  /** The same credentials, database, TLS and client name with {@code timeout} for connect and read. */
  static JedisClientConfig withTimeouts(JedisClientConfig base, Duration timeout) {
    int millis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    return builder(base).connectionTimeoutMillis(millis).socketTimeoutMillis(millis).build();
  }

  /** Like {@link #withTimeouts}, with a read timeout for blocking calls such as SUBSCRIBE. */
  static JedisClientConfig forSubscriber(JedisClientConfig base, Duration connectTimeout, Duration readTimeout) {
    return builder(base)
        .connectionTimeoutMillis((int) connectTimeout.toMillis())
        .socketTimeoutMillis((int) readTimeout.toMillis())
        .blockingSocketTimeoutMillis((int) readTimeout.toMillis())
        .build();
  }

  /** The protocol set explicitly (RESP2 unless the user chose), so Jedis 8 does not WARN on every connection. */
  static JedisClientConfig withExplicitProtocol(JedisClientConfig base) {
    return base.getRedisProtocol() != null ? base : builder(base).build();
  }

  private static DefaultJedisClientConfig.Builder builder(JedisClientConfig base) {
    RedisProtocol protocol = base.getRedisProtocol() != null ? base.getRedisProtocol() : RedisProtocol.RESP2;
    return DefaultJedisClientConfig.builder().from(base).protocol(protocol);
  }
}
