package io.github.redismasterdiscovery.spring;

import io.github.redismasterdiscovery.FailoverStats;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.SourceKind;
import io.github.redismasterdiscovery.SourceState;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.time.Instant;
import java.util.function.ToDoubleFunction;

/**
 * Micrometer meters of the discovery and the connection factory that follows it, all read from
 * their snapshots when scraped:
 * <ul>
 *   <li>{@code redis.master.discovery.failovers} (counter): masters followed, one per change of server;
 *   <li>{@code redis.master.discovery.stale.discarded} (counter): connections destroyed because they belonged to an earlier master;
 *   <li>{@code redis.master.discovery.master.known} (gauge): 1 while a master is verified, else 0;
 *   <li>{@code redis.master.discovery.since.switch} (gauge, seconds): since the last failover, NaN before the first;
 *   <li>{@code redis.master.discovery.source.up} (gauge, tag {@code source}): 1 while that source is up, else 0.
 * </ul>
 */
public class RedisMasterDiscoveryMetrics implements MeterBinder {

  private final MasterDiscovery discovery;
  private final FailoverJedisConnectionFactory factory;

  /** @param factory the factory whose pool statistics to expose, or null when the application uses its own */
  public RedisMasterDiscoveryMetrics(MasterDiscovery discovery, FailoverJedisConnectionFactory factory) {
    this.discovery = discovery;
    this.factory = factory;
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    Gauge.builder("redis.master.discovery.master.known", discovery, d -> d.snapshot().master().isPresent() ? 1 : 0)
        .description("1 while a Redis master is verified, else 0").register(registry);
    for (SourceKind kind : discovery.snapshot().sources().keySet()) {
      Gauge.builder("redis.master.discovery.source.up", discovery, d -> {
        SourceState s = d.snapshot().sources().get(kind);
        return s != null && s.status() == SourceState.Status.UP ? 1 : 0;
      }).tag("source", kind.name().toLowerCase()).description("1 while this source of master candidates is up").register(registry);
    }
    if (factory != null) {
      FunctionCounter.builder("redis.master.discovery.failovers", factory, stat(FailoverStats::failovers))
          .description("Redis masters followed: one per change of server").register(registry);
      FunctionCounter.builder("redis.master.discovery.stale.discarded", factory, stat(FailoverStats::staleDiscarded))
          .description("connections destroyed because they belonged to an earlier master").register(registry);
      Gauge.builder("redis.master.discovery.since.switch", factory, f -> f.failoverStats().flatMap(FailoverStats::lastSwitch)
              .map(t -> Duration.between(t, Instant.now()).toMillis() / 1000.0).orElse(Double.NaN))
          .baseUnit("seconds").description("time since the last failover").register(registry);
    }
  }

  private static ToDoubleFunction<FailoverJedisConnectionFactory> stat(ToDoubleFunction<FailoverStats> figure) {
    return f -> f.failoverStats().map(figure::applyAsDouble).orElse(0.0);
  }
}
