package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.redismasterdiscovery.testkit.RedisBinary;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.Jedis;

/**
 * TLS reaches every connection the library opens: data nodes and Sentinels listen with TLS only
 * (certificates generated for the run), so a single plain-text connection anywhere would fail.
 */
class TlsIT {

  @Test
  void discoveryAndPoolWorkOverTlsOnlyAndFollowAFailover() throws Exception {
    Assumptions.assumeTrue(RedisBinary.supportsTls(), "this redis-server has no TLS support (the embedded 6.2 fallback may not)");
    try (RedisHaTopology t = RedisHaTopology.builder().tls(true).start()) {
      var tls = DefaultJedisClientConfig.builder().ssl(true).sslSocketFactory(t.tls().socketFactory()).build();
      ChangeRecorder changes = new ChangeRecorder();
      try (MasterDiscovery d = TestDiscoveries.labelsAndSentinels(t)
              .clientConfig(tls)
              .sentinelClientConfig(tls)
              .listener(changes)
              .build();
          FailoverJedisPool pool = new FailoverJedisPool(d)) {
        assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(t.node(0).address());
        await().atMost(Duration.ofSeconds(10)).until(() -> d.snapshot().sources().values().stream()
            .allMatch(s -> s.status() == SourceState.Status.UP));
        try (Jedis jedis = pool.getResource()) {
          assertThat(jedis.set("k", "v")).isEqualTo("OK");
        }
        RedisProcess old = t.master();
        old.kill();
        RedisProcess next = MasterDiscoveryIT.awaitNewMaster(t, old);
        changes.nextTo(next.address(), 15);
        String reply = pool.execute(j -> j.set("k2", "v2"));
        assertThat(reply).isEqualTo("OK");
        try (Jedis direct = t.connect(next)) {
          assertThat(direct.get("k2")).isEqualTo("v2");
        }
      }
      // And plain text is refused everywhere: the test above could not have passed without TLS.
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> {
        try (Jedis plain = new Jedis(t.node(1).address(), DefaultJedisClientConfig.builder().timeoutMillis(500).build())) {
          plain.ping();
        }
      }).isInstanceOf(redis.clients.jedis.exceptions.JedisConnectionException.class);
    }
  }
}
