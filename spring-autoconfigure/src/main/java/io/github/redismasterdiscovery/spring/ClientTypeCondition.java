package io.github.redismasterdiscovery.spring;

import org.springframework.boot.autoconfigure.condition.AnyNestedCondition;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;

/**
 * Whether this library has a client to serve: {@code spring.data.redis.client-type} unset or
 * {@code jedis} (Jedis always comes with {@code rmd-core}), or {@code lettuce} with Lettuce and
 * {@code rmd-lettuce} on the classpath. Otherwise (Lettuce asked for but absent) everything backs off.
 */
class ClientTypeCondition extends AnyNestedCondition {

  ClientTypeCondition() {
    super(ConfigurationPhase.REGISTER_BEAN);
  }

  @ConditionalOnProperty(name = "spring.data.redis.client-type", havingValue = "jedis", matchIfMissing = true)
  static class JedisOrUnset {
  }

  @ConditionalOnProperty(name = "spring.data.redis.client-type", havingValue = "lettuce")
  @ConditionalOnClass(name = { "io.lettuce.core.RedisClient", "io.github.redismasterdiscovery.lettuce.FailoverRedisClient" })
  static class LettucePresent {
  }
}
