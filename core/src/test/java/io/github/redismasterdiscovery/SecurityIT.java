package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;

/** No secret in any log line, toString(), exception or snapshot; the Kubernetes API sees only reads of pods. */
class SecurityIT {

  static final String REDIS_PASSWORD = "Redis-S3cret-9f2c";
  static final String SENTINEL_PASSWORD = "Sentinel-S3cret-71ab";
  static final String WRONG_PASSWORD = "Wrong-S3cret-0000";

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create(b -> b.password(REDIS_PASSWORD).sentinelPassword(SENTINEL_PASSWORD));

  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private final List<String> texts = new ArrayList<>();

  @BeforeEach
  void captureLogs() {
    logs.start();
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(logs);
  }

  @AfterEach
  void noSecretAnywhere() {
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(logs);
    for (ILoggingEvent e : logs.list) {
      texts.add(e.getFormattedMessage());
      if (e.getThrowableProxy() != null) {
        texts.add(ch.qos.logback.classic.spi.ThrowableProxyUtil.asString(e.getThrowableProxy()));
      }
    }
    assertThat(texts).isNotEmpty().noneMatch(t -> t.contains(REDIS_PASSWORD) || t.contains(SENTINEL_PASSWORD) || t.contains(WRONG_PASSWORD));
  }

  static JedisClientConfig auth(String password) {
    return DefaultJedisClientConfig.builder().password(password).build();
  }

  private MasterDiscoveryBuilder discovery(RedisHaTopology t, String redisPassword, String sentinelPassword) {
    return TestDiscoveries.labelsAndSentinels(t)
        .clientConfig(auth(redisPassword))
        .sentinelClientConfig(auth(sentinelPassword));
  }

  @Test
  void separateRedisAndSentinelCredentialsReachEveryConnectionAndNeverShow() {
    RedisHaTopology t = ha.topology();
    try (MasterDiscovery d = discovery(t, REDIS_PASSWORD, SENTINEL_PASSWORD).build();
        FailoverJedisPool pool = new FailoverJedisPool(d)) {
      assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(t.node(0).address());
      await().atMost(Duration.ofSeconds(10)).until(() -> d.snapshot().sources().values().stream()
          .allMatch(s -> s.status() == SourceState.Status.UP));
      try (Jedis jedis = pool.getResource()) {
        assertThat(jedis.set("k", "v")).isEqualTo("OK");
      }
      texts.add(d.toString());
      texts.add(d.snapshot().toString());
      texts.add(d.snapshot().describe());
      texts.add(pool.toString());
      texts.add(RetryPolicy.defaults().toString());
    }
  }

  @Test
  void wrongPasswordsGiveClearErrorsWithoutThePassword() {
    RedisHaTopology t = ha.topology();
    try (MasterDiscovery d = discovery(t, WRONG_PASSWORD, WRONG_PASSWORD).build()) {
      await().atMost(Duration.ofSeconds(10)).until(() -> d.snapshot().sources().get(SourceKind.SENTINEL).status() == SourceState.Status.DOWN);
      assertThat(d.snapshot().sources().get(SourceKind.SENTINEL).detail()).contains("authentication failed").contains("sentinelClientConfig");
      Throwable thrown = catchThrowable(() -> d.awaitMaster(Duration.ofMillis(500)));
      assertThat(thrown).isInstanceOf(MasterUnavailableException.class);
      texts.add(stackTrace(thrown));
      texts.add(d.snapshot().toString());
      GenericPoolCheck.assertGetResourceFails(d, texts);
    }
  }

  @Test
  void wrongPasswordsFailStartUpAtOnceNamingEachSetting() {
    RedisHaTopology t = ha.topology();
    // The labels name the master, which refuses the password; the Sentinels refuse theirs.
    try (MasterDiscovery d = discovery(t, WRONG_PASSWORD, WRONG_PASSWORD).build()) {
      MasterUnavailableException e = BadInputIT.startupFailure(d);
      assertThat(e.configurationErrors()).containsOnlyKeys(SourceKind.SENTINEL, SourceKind.NODE_PROBE);
      assertThat(e.configurationErrors().get(SourceKind.SENTINEL)).contains("every Sentinel (3)")
          .contains("the Sentinel refused the user/password (WRONGPASS").contains("sentinelClientConfig");
      assertThat(e.configurationErrors().get(SourceKind.NODE_PROBE)).contains(t.node(0).address().toString())
          .contains("the Redis node refused the user/password (WRONGPASS").contains("clientConfig");
      texts.add(stackTrace(e));
    }
  }

  @Test
  void missingPasswordsFailStartUpAtOnceSayingToSetThem() {
    RedisHaTopology t = ha.topology();
    try (MasterDiscovery d = TestDiscoveries.labelsAndSentinels(t).build()) {
      MasterUnavailableException e = BadInputIT.startupFailure(d);
      assertThat(e.configurationErrors().get(SourceKind.SENTINEL))
          .contains("the Sentinel requires a password and none was sent (NOAUTH").contains("set the password in sentinelClientConfig");
      assertThat(e.configurationErrors().get(SourceKind.NODE_PROBE))
          .contains("the Redis node requires a password and none was sent (NOAUTH").contains("set the password in clientConfig");
      texts.add(stackTrace(e));
    }
  }

  @Test
  void theKubernetesApiIsOnlyAskedToListAndWatchPodsInTheNamespace() {
    RedisHaTopology t = ha.topology();
    t.labels().pause();
    int before = t.kubernetes().requests().size();
    try (MasterDiscovery d = discovery(t, REDIS_PASSWORD, SENTINEL_PASSWORD).build()) {
      d.awaitMaster(Duration.ofSeconds(10));
      await().atMost(Duration.ofSeconds(10)).until(() -> d.snapshot().sources().get(SourceKind.KUBERNETES).status() == SourceState.Status.UP);
    }
    List<String> ours = t.kubernetes().requests().subList(before, t.kubernetes().requests().size());
    assertThat(ours).isNotEmpty().allSatisfy(r -> assertThat(r).startsWith("GET /api/v1/namespaces/redis/pods?")
        .contains("labelSelector=isMaster%3Dtrue"));
    assertThat(ours).anyMatch(r -> r.contains("watch=true")).anyMatch(r -> !r.contains("watch=true"));
    texts.add(String.join("\n", ours));
  }

  @Test
  void aForbiddenPodListIsReportedWithTheRbacFixWhileSentinelServes() {
    RedisHaTopology t = ha.topology();
    t.kubernetes().server().expect().get().withPath("/api/v1/namespaces/redis/pods?labelSelector=isMaster%3Dtrue&resourceVersion=0")
        .andReturn(403, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"Forbidden\",\"code\":403,"
            + "\"message\":\"pods is forbidden: User cannot list resource pods\"}")
        .always();
    try (MasterDiscovery d = discovery(t, REDIS_PASSWORD, SENTINEL_PASSWORD).build()) {
      assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(t.node(0).address());
      await().atMost(Duration.ofSeconds(10)).until(() -> d.snapshot().sources().get(SourceKind.KUBERNETES).status() == SourceState.Status.DOWN);
      assertThat(d.snapshot().sources().get(SourceKind.KUBERNETES).detail())
          .contains("HTTP 403").contains("get, list, watch on pods").contains("examples/k8s/rbac.yaml");
      long warnings = logs.list.stream().filter(e -> e.getFormattedMessage().contains("KUBERNETES source is DOWN")).count();
      assertThat(warnings).as("one WARN for the outage, not one per retry").isEqualTo(1);
    }
  }

  static Throwable catchThrowable(Runnable r) {
    try {
      r.run();
      return null;
    } catch (Throwable e) {
      return e;
    }
  }

  static String stackTrace(Throwable t) {
    StringWriter out = new StringWriter();
    t.printStackTrace(new PrintWriter(out));
    return out.toString();
  }

  /** A pool over a discovery without a master fails fast with the state, and the failure holds no secret. */
  static final class GenericPoolCheck {
    static void assertGetResourceFails(MasterDiscovery d, List<String> texts) {
      org.apache.commons.pool2.impl.GenericObjectPoolConfig<Jedis> config = new org.apache.commons.pool2.impl.GenericObjectPoolConfig<>();
      config.setMaxWait(Duration.ofMillis(300));
      try (FailoverJedisPool pool = new FailoverJedisPool(d, config, auth(WRONG_PASSWORD))) {
        assertThatThrownBy(pool::getResource).isInstanceOf(MasterUnavailableException.class)
            .satisfies(e -> texts.add(stackTrace(e)));
        texts.add(pool.toString());
      }
    }
  }
}
