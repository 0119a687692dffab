package io.github.redismasterdiscovery.spring;

import io.github.redismasterdiscovery.lettuce.LettuceFailoverStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.function.ToDoubleFunction;

/**
 * The connection factory's meters on Lettuce, under the names {@link RedisMasterDiscoveryMetrics}
 * gives them on Jedis: {@code redis.master.discovery.failovers} (masters followed) and
 * {@code redis.master.discovery.stale.discarded} (connections closed because they belonged to an
 * earlier master). The discovery's own meters come from {@link RedisMasterDiscoveryMetrics} as on Jedis.
 */
final class LettuceFailoverMetrics implements MeterBinder {

  private final FailoverLettuceConnectionFactory factory;

  LettuceFailoverMetrics(FailoverLettuceConnectionFactory factory) {
    this.factory = factory;
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    FunctionCounter.builder("redis.master.discovery.failovers", factory, stat(LettuceFailoverStats::failovers))
        .description("Redis masters followed: one per change of server").register(registry);
    FunctionCounter.builder("redis.master.discovery.stale.discarded", factory, stat(LettuceFailoverStats::closedAtSwitch))
        .description("connections closed because they belonged to an earlier master").register(registry);
  }

  private static ToDoubleFunction<FailoverLettuceConnectionFactory> stat(ToDoubleFunction<LettuceFailoverStats> figure) {
    return f -> f.failoverStats().map(figure::applyAsDouble).orElse(0.0);
  }
}
