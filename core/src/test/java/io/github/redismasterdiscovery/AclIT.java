package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;

/**
 * Least privilege: the library works with an ACL user on the data nodes allowed only ROLE, INFO,
 * PING and HELLO (plus the application's own GET/SET), and a separate Sentinel user allowed only
 * SENTINEL GET-MASTER-ADDR-BY-NAME, SUBSCRIBE, PING and HELLO. (Jedis' best-effort CLIENT SETINFO
 * may be refused; Redis 7.0 does not have it.)
 */
class AclIT {

  static final String NODE_ACL = "-@all +role +info +ping +hello";
  static final String SENTINEL_ACL = "-@all +sentinel|get-master-addr-by-name +subscribe +ping +hello";

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create(b -> b
      .nodeConfig("user app on >App-Pw-1 ~* &* " + NODE_ACL + " +get +set")
      .sentinelConfig("user watcher on >Watch-Pw-2 &* " + SENTINEL_ACL));

  @Test
  void discoveryAndPoolNeedNothingMore() throws Exception {
    RedisHaTopology t = ha.topology();
    JedisClientConfig app = DefaultJedisClientConfig.builder().user("app").password("App-Pw-1").build();
    JedisClientConfig watcher = DefaultJedisClientConfig.builder().user("watcher").password("Watch-Pw-2").build();
    ChangeRecorder changes = new ChangeRecorder();
    try (MasterDiscovery d = TestDiscoveries.labelsAndSentinels(t)
            .clientConfig(app)
            .sentinelClientConfig(watcher)
            .listener(changes)
            .build();
        FailoverJedisPool pool = new FailoverJedisPool(d)) {
      assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(t.node(0).address());
      await().atMost(Duration.ofSeconds(10)).until(() -> d.snapshot().sources().values().stream()
          .allMatch(s -> s.status() == SourceState.Status.UP));
      try (Jedis jedis = pool.getResource()) {
        jedis.set("k", "v");
        assertThat(jedis.get("k")).isEqualTo("v");
      }
      RedisProcess old = t.master();
      t.failover();
      RedisProcess next = MasterDiscoveryIT.awaitNewMaster(t, old);
      changes.nextTo(next.address(), 15);
      String reply = pool.execute(j -> j.set("k2", "v2"));
      assertThat(reply).isEqualTo("OK");
      try (Jedis direct = t.connect(next)) {
        assertThat(direct.get("k2")).isEqualTo("v2");
      }
      assertThat(d.snapshot().sources().get(SourceKind.SENTINEL).status()).isEqualTo(SourceState.Status.UP);
    }
  }
}
