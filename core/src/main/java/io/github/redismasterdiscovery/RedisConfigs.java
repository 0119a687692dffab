package io.github.redismasterdiscovery;

import java.lang.reflect.Method;
import java.time.Duration;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.RedisProtocol;

/**
 * Copies of a user's Jedis client configuration for the library's own connections (probes, Sentinel
 * queries and subscriptions): its own timeouts, and RESP2 unless the user chose, as the library
 * parses RESP2 replies (and Jedis 8 would otherwise log its negotiation on every connection). Pool
 * connections use the user's configuration unchanged.
 */
final class RedisConfigs {

  private RedisConfigs() {}

  /** The same credentials, database, TLS and client name with {@code timeout} for connect and read. */
  static JedisClientConfig withTimeouts(JedisClientConfig base, Duration timeout) {
    int millis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    return builder(base).connectionTimeoutMillis(millis).socketTimeoutMillis(millis).build();
  }

  /** The same configuration with the client name the server shows in {@code CLIENT LIST}. */
  static JedisClientConfig named(JedisClientConfig base, String clientName) {
    return DefaultJedisClientConfig.builder().from(base).clientName(clientName).build();
  }

  /**
   * Like {@link #withTimeouts}: {@code timeout} to connect, for the handshake and for ordinary
   * commands, so a server that never answers is noticed as fast as by a probe; and a read timeout of
   * its own while blocked in {@code SUBSCRIBE}.
   */
  static JedisClientConfig forSubscriber(JedisClientConfig base, Duration timeout, Duration subscribedReadTimeout) {
    return builder(base)
        .connectionTimeoutMillis((int) timeout.toMillis())
        .socketTimeoutMillis((int) timeout.toMillis())
        .blockingSocketTimeoutMillis((int) subscribedReadTimeout.toMillis())
        .build();
  }

  /**
   * The configuration Jedis' own {@code Jedis} class would use: Jedis 8's {@code Jedis} cannot
   * negotiate RESP3, so a configuration that asks for negotiation (no protocol set, the Jedis 8
   * default) gets it turned off and speaks RESP2, as in Jedis 8's {@code JedisPool}. Jedis 7 has no
   * negotiation: the configuration is used as is. Reflection keeps one binary for both lines.
   */
  static JedisClientConfig forLegacyJedis(JedisClientConfig base) {
    if (IS_AUTO_NEGOTIATE == null || base.getRedisProtocol() != null) {
      return base;
    }
    try {
      if (!(Boolean) IS_AUTO_NEGOTIATE.invoke(base)) {
        return base;
      }
      DefaultJedisClientConfig.Builder b = DefaultJedisClientConfig.builder().from(base);
      SET_AUTO_NEGOTIATE.invoke(b, false);
      return b.build();
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot read Jedis' protocol negotiation setting", e);
    }
  }

  private static final Method IS_AUTO_NEGOTIATE = method(JedisClientConfig.class, "isAutoNegotiateProtocol");
  private static final Method SET_AUTO_NEGOTIATE = method(DefaultJedisClientConfig.Builder.class, "autoNegotiateProtocol", boolean.class);

  private static Method method(Class<?> type, String name, Class<?>... parameters) {
    try {
      return type.getMethod(name, parameters);
    } catch (NoSuchMethodException jedis7) {
      return null;
    }
  }

  private static DefaultJedisClientConfig.Builder builder(JedisClientConfig base) {
    RedisProtocol protocol = base.getRedisProtocol() != null ? base.getRedisProtocol() : RedisProtocol.RESP2;
    return DefaultJedisClientConfig.builder().from(base).protocol(protocol);
  }
}
