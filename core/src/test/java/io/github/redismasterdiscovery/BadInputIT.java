package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;

/** Garbage and silence from peers: a clear state or WARN, never a hang, never a wrong master. */
class BadInputIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create();

  private MasterDiscoveryBuilder labels(RedisHaTopology t) {
    return TestDiscoveries.labels(t);
  }

  @Test
  void aSentinelAnsweringGarbageIsReportedAndIgnored() throws Exception {
    RedisHaTopology t = ha.topology();
    try (GarbageServer garbage = new GarbageServer(cmd -> cmd.get(0).equalsIgnoreCase("SENTINEL")
            ? "*2\r\n$9\r\n127.0.0.1\r\n$8\r\nnotaport\r\n" : "+PONG\r\n");
        MasterDiscovery d = labels(t).sentinels(List.of(garbage.address())).masterName("mymaster").build()) {
      assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(t.node(0).address());
      await().atMost(Duration.ofSeconds(10)).until(() -> d.snapshot().sources().get(SourceKind.SENTINEL).status() == SourceState.Status.DOWN);
      assertThat(d.snapshot().sources().get(SourceKind.SENTINEL).detail())
          .contains(garbage.address().toString()).contains("unreadable answer to SENTINEL GET-MASTER-ADDR-BY-NAME");
    }
  }

  @Test
  void somethingThatIsNotASentinelIsReportedAsSuch() throws Exception {
    RedisHaTopology t = ha.topology();
    try (GarbageServer garbage = new GarbageServer(cmd -> "+PONG\r\n").garbageHandshake();
        MasterDiscovery d = labels(t).sentinels(List.of(garbage.address())).masterName("mymaster").build()) {
      assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(t.node(0).address());
      await().atMost(Duration.ofSeconds(10)).until(() -> d.snapshot().sources().get(SourceKind.SENTINEL).status() == SourceState.Status.DOWN);
      assertThat(d.snapshot().sources().get(SourceKind.SENTINEL).detail())
          .contains(garbage.address().toString()).contains("cannot be read as a Sentinel's").contains("is this address a Sentinel?");
    }
  }

  @Test
  void aSentinelThatNeverAnswersDoesNotHangAnything() throws Exception {
    RedisHaTopology t = ha.topology();
    try (GarbageServer silent = new GarbageServer(cmd -> null);
        MasterDiscovery d = labels(t).sentinels(List.of(silent.address())).masterName("mymaster").build()) {
      long start = System.nanoTime();
      assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(t.node(0).address());
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
      await().atMost(Duration.ofSeconds(10)).until(() -> d.snapshot().sources().get(SourceKind.SENTINEL).status() == SourceState.Status.DOWN);
      assertThat(d.snapshot().sources().get(SourceKind.SENTINEL).detail()).contains("timed out");
    }
  }

  @Test
  void aLabeledNodeAnsweringGarbageToRoleIsNeverChosen() throws Exception {
    RedisHaTopology t = ha.topology();
    try (GarbageServer liar = new GarbageServer(cmd -> cmd.get(0).equalsIgnoreCase("ROLE") ? "*1\r\n$6\r\nleader\r\n" : "+OK\r\n")) {
      KubernetesClient k = t.kubernetes().newClient();
      HostAndPort a = liar.address();
      k.pods().inNamespace("redis").resource(new PodBuilder()
          .withNewMetadata().withName("impostor").addToLabels("isMaster", "true").endMetadata()
          .withNewSpec().addNewContainer().withName("redis").addNewPort().withName("redis").withContainerPort(a.getPort()).endPort().endContainer().endSpec()
          .withNewStatus().withPodIP(a.getHost()).addNewCondition().withType("Ready").withStatus("True").endCondition().endStatus().build()).create();
      try (MasterDiscovery d = labels(t).build()) {
        assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(t.node(0).address());
        assertThat(d.snapshot().conflict()).isEmpty();
      }
    }
  }

  /** The start-up wait of these tests: a misconfiguration must end it long before. */
  static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(30);

  /** Waits as start-up does and returns how it failed, asserting it failed well within {@link #STARTUP_TIMEOUT}. */
  static MasterUnavailableException startupFailure(MasterDiscovery d) {
    long start = System.nanoTime();
    MasterUnavailableException e = catchThrowableOfType(MasterUnavailableException.class, () -> d.awaitMaster(STARTUP_TIMEOUT));
    assertThat(e).as("start-up with a misconfiguration").isNotNull();
    assertThat(Duration.ofNanos(System.nanoTime() - start)).as("gave up at once, not after %s", STARTUP_TIMEOUT)
        .isLessThan(Duration.ofSeconds(10));
    return e;
  }

  static JedisClientConfig password(String password) {
    return DefaultJedisClientConfig.builder().password(password).build();
  }

  @Test
  void aPasswordForASentinelThatHasNoneFailsStartUpAtOnceSayingToRemoveIt() {
    RedisHaTopology t = ha.topology();
    try (MasterDiscovery d = MasterDiscovery.builder().sentinels(t.sentinelAddresses()).masterName(t.masterName())
        .sentinelClientConfig(password("not-needed")).build()) {
      MasterUnavailableException e = startupFailure(d);
      assertThat(e.configurationErrors()).containsOnlyKeys(SourceKind.SENTINEL);
      assertThat(e.getMessage()).contains("every Sentinel (3)").contains("the Sentinel has no password, but one was sent")
          .contains("remove the password from sentinelClientConfig").doesNotContain("needs SENTINEL GET-MASTER-ADDR-BY-NAME");
    }
  }

  @Test
  void aPasswordForNodesThatHaveNoneFailsStartUpAtOnceSayingToRemoveIt() {
    RedisHaTopology t = ha.topology();
    // Labels and Sentinels both name the master, which refuses the password: no candidate can be proven.
    try (MasterDiscovery d = TestDiscoveries.labelsAndSentinels(t).clientConfig(password("not-needed")).build()) {
      MasterUnavailableException e = startupFailure(d);
      assertThat(e.configurationErrors()).containsOnlyKeys(SourceKind.NODE_PROBE);
      assertThat(e.configurationErrors().get(SourceKind.NODE_PROBE)).contains(t.node(0).address().toString())
          .contains("the Redis node has no password, but one was sent").contains("remove the password from clientConfig");
    }
  }

  @Test
  void anUnknownMasterNameFailsStartUpAtOnceNamingTheSetting() {
    RedisHaTopology t = ha.topology();
    try (MasterDiscovery d = MasterDiscovery.builder().sentinels(t.sentinelAddresses()).masterName("no-such-master").build()) {
      MasterUnavailableException e = startupFailure(d);
      assertThat(e.configurationErrors()).containsOnlyKeys(SourceKind.SENTINEL);
      assertThat(e.getMessage()).contains("does not know master set 'no-such-master'").contains("check masterName");
    }
  }

  @Test
  void aForbiddenPodWatchFailsStartUpAtOnceWithTheRbacFix() {
    RedisHaTopology t = ha.topology();
    t.kubernetes().server().expect().get().withPath("/api/v1/namespaces/redis/pods?labelSelector=isMaster%3Dtrue&resourceVersion=0")
        .andReturn(403, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"Forbidden\",\"code\":403,"
            + "\"message\":\"pods is forbidden: User cannot list resource pods\"}")
        .always();
    try (MasterDiscovery d = labels(t).build()) {
      MasterUnavailableException e = startupFailure(d);
      assertThat(e.configurationErrors()).containsOnlyKeys(SourceKind.KUBERNETES);
      assertThat(e.getMessage()).contains("HTTP 403").contains("get, list, watch on pods").contains("examples/k8s/rbac.yaml");
    }
  }

  @Test
  void oneMisconfiguredSourceBesideAWorkingOneDoesNotStopStartUp() {
    RedisHaTopology t = ha.topology();
    // The control for the tests above: the Sentinels refuse, the labels still lead to the master.
    try (MasterDiscovery d = labels(t).sentinels(t.sentinelAddresses()).masterName("no-such-master").build()) {
      assertThat(d.awaitMaster(STARTUP_TIMEOUT)).isEqualTo(t.node(0).address());
      await().atMost(Duration.ofSeconds(10)).until(() -> d.snapshot().sources().get(SourceKind.SENTINEL).status() == SourceState.Status.DOWN);
      assertThat(d.snapshot().sources().get(SourceKind.SENTINEL).detail()).contains("does not know master set 'no-such-master'");
    }
  }

  @Test
  void podsWithMalformedIpsOrPortsAreSkippedWithOneWarningEach() {
    RedisHaTopology t = ha.topology();
    KubernetesClient k = t.kubernetes().newClient();
    for (String ip : List.of("999.1.1.1", "not-an-ip")) {
      k.pods().inNamespace("redis").resource(new PodBuilder()
          .withNewMetadata().withName("bad-" + ip.replace('.', '-')).addToLabels("isMaster", "true").endMetadata()
          .withNewSpec().addNewContainer().withName("redis").addNewPort().withName("redis").withContainerPort(70000).endPort().endContainer().endSpec()
          .withNewStatus().withPodIP(ip).addNewCondition().withType("Ready").withStatus("True").endCondition().endStatus().build()).create();
    }
    List<String> warnings = new ArrayList<>();
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logs = new ch.qos.logback.core.read.ListAppender<>();
    logs.start();
    ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(KubernetesLabelSource.class)).addAppender(logs);
    try (MasterDiscovery d = labels(t).build()) {
      assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(t.node(0).address());
      for (int i = 0; i < 20; i++) {
        d.checkNow(); // many rounds: the warnings must not repeat
      }
      await().atMost(Duration.ofSeconds(5)).until(() -> logs.list.size() >= 2);
      logs.list.forEach(e -> warnings.add(e.getFormattedMessage()));
    } finally {
      ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(KubernetesLabelSource.class)).detachAppender(logs);
    }
    assertThat(warnings).filteredOn(w -> w.contains("malformed status.podIP")).hasSize(2)
        .anySatisfy(w -> assertThat(w).contains("'999.1.1.1'")).anySatisfy(w -> assertThat(w).contains("'not-an-ip'"));
  }
}
