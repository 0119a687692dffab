package io.github.redismasterdiscovery;

import java.lang.reflect.Method;
import redis.clients.jedis.CommandObjects;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.executors.CommandExecutor;
import redis.clients.jedis.providers.ConnectionProvider;

/**
 * Builds a UnifiedJedis over our provider (and executor) the way each Jedis line allows: Jedis 8's
 * RedisClient builder, else Jedis 7's public constructor. Reflection keeps one test source for both.
 */
final class UnifiedClients {

  private UnifiedClients() {}

  static UnifiedJedis create(ConnectionProvider provider, CommandExecutor executor) {
    try {
      Class<?> redisClient = Class.forName("redis.clients.jedis.RedisClient");
      Object builder = redisClient.getMethod("builder").invoke(null);
      call(builder, "connectionProvider", ConnectionProvider.class, provider);
      if (executor != null) {
        call(builder, "commandExecutor", CommandExecutor.class, executor);
      }
      return (UnifiedJedis) builder.getClass().getMethod("build").invoke(builder);
    } catch (ClassNotFoundException jedis7) {
      return jedis7(provider, executor);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
  }

  private static UnifiedJedis jedis7(ConnectionProvider provider, CommandExecutor executor) {
    try {
      if (executor == null) {
        return UnifiedJedis.class.getConstructor(ConnectionProvider.class).newInstance(provider);
      }
      return UnifiedJedis.class.getConstructor(CommandExecutor.class, ConnectionProvider.class, CommandObjects.class)
          .newInstance(executor, provider, CommandObjects.class.getConstructor().newInstance());
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void call(Object builder, String name, Class<?> type, Object arg) throws ReflectiveOperationException {
    for (Class<?> c = builder.getClass(); c != null; c = c.getSuperclass()) {
      try {
        Method m = c.getDeclaredMethod(name, type);
        m.setAccessible(true);
        m.invoke(builder, arg);
        return;
      } catch (NoSuchMethodException e) {
        // declared higher up
      }
    }
    throw new NoSuchMethodException(name);
  }
}
