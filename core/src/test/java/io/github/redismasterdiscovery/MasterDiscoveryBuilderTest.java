package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every documented configuration error: thrown at once, naming the value and the fix. */
class MasterDiscoveryBuilderTest {

  static void rejects(Supplier<Object> build, String... messageParts) {
    assertThatThrownBy(build::get).isInstanceOf(IllegalArgumentException.class).hasMessageContainingAll(messageParts);
  }

  @Test
  void noSourceAtAll() {
    rejects(() -> MasterDiscovery.builder().build(), "no source configured", "kubernetesLabels(LabelPreset.BITNAMI)", "sentinels(", "dnsName(", "nodes(");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", " ", "isMaster", "=true", "isMaster!=true", "!isMaster", "is Master=true", "isMaster=tr ue", "a/b/c=1"})
  void malformedSelectors(String selector) {
    rejects(() -> MasterDiscovery.builder().kubernetesLabels(selector), "kubernetesLabels");
  }

  @Test
  void selectorErrorsNameTheBadPart() {
    rejects(() -> MasterDiscovery.builder().kubernetesLabels("isMaster=true,app"), "'app' is not key=value");
    rejects(() -> MasterDiscovery.builder().kubernetesSelector("app.kubernetes.io/instance=my redis"), "kubernetesSelector", "'my redis'");
  }

  @Test
  void selectorsParse() {
    MasterDiscovery.builder().kubernetesLabels("kubeblocks.io/role=primary,app.kubernetes.io/instance==my-redis");
    assertThat(LabelPreset.SPOTAHOME.selector()).isEqualTo("redisfailovers-role=master");
  }

  @ParameterizedTest
  @ValueSource(strings = {"Redis", "redis_ns", "-redis", "redis-", "a.b", ""})
  void badNamespace(String namespace) {
    rejects(() -> MasterDiscovery.builder().namespace(namespace), "namespace '" + namespace + "'", "valid Kubernetes namespace");
  }

  @Test
  void portsOutOfRange() {
    rejects(() -> MasterDiscovery.builder().defaultPort(0), "defaultPort 0 is out of range 1..65535");
    rejects(() -> MasterDiscovery.builder().defaultPort(65536), "defaultPort 65536");
    rejects(() -> MasterDiscovery.builder().dnsName("redis-master", 70000), "dnsName port 70000");
    rejects(() -> MasterDiscovery.builder().sentinels("redis:0"), "'redis:0' port 0 is out of range");
  }

  @Test
  void malformedAddresses() {
    rejects(() -> MasterDiscovery.builder().sentinels("redis"), "sentinel address 'redis' is not host:port");
    rejects(() -> MasterDiscovery.builder().sentinels("redis"), "e.g. \"my-redis:26379\"");
    rejects(() -> MasterDiscovery.builder().nodes("h"), "node address 'h' is not host:port, e.g. \"redis-node-0.redis-headless:6379\"");
    rejects(() -> MasterDiscovery.builder().sentinels("redis:abc"), "'redis:abc' has a port that is not a number");
    rejects(() -> MasterDiscovery.builder().sentinels(), "sentinels needs at least one host:port");
    rejects(() -> MasterDiscovery.builder().externalAddress("redis-node-0", "lb.example.com"), "externalAddress for pod redis-node-0");
    rejects(() -> MasterDiscovery.builder().dnsName("redis master", 6379), "dnsName host 'redis master'");
  }

  @Test
  void sentinelAddressesFromAnImmutableListAreAccepted() {
    MasterDiscovery.builder().sentinels(List.of(new redis.clients.jedis.HostAndPort("redis", 26379)));
    rejects(() -> MasterDiscovery.builder().sentinels(java.util.Arrays.asList(new redis.clients.jedis.HostAndPort("redis", 26379), null)),
        "no nulls");
  }

  @Test
  void sentinelSubscriptionsAreAtLeastOneAndAtMostTheSentinelsConfigured() {
    rejects(() -> MasterDiscovery.builder().sentinelSubscriptions(0), "sentinelSubscriptions must be at least 1, was 0");
    rejects(() -> MasterDiscovery.builder().sentinels("a:26379", "b:26379").masterName("mymaster").sentinelSubscriptions(3).build(),
        "sentinelSubscriptions 3 exceeds the 2 Sentinel(s) configured", "use at most 2");
    List<redis.clients.jedis.HostAndPort> three = List.of(new redis.clients.jedis.HostAndPort("a", 1), new redis.clients.jedis.HostAndPort("b", 1),
        new redis.clients.jedis.HostAndPort("c", 1));
    assertThat(MasterDiscovery.watchedSentinels(three, null)).isEqualTo(three);
    java.util.Map<redis.clients.jedis.HostAndPort, Integer> picked = new java.util.HashMap<>();
    for (int i = 0; i < 3_000; i++) {
      List<redis.clients.jedis.HostAndPort> one = MasterDiscovery.watchedSentinels(three, 1);
      assertThat(one).hasSize(1).isSubsetOf(three);
      picked.merge(one.get(0), 1, Integer::sum);
    }
    assertThat(picked.values()).as("a fleet spreads over the Sentinels").allSatisfy(n -> assertThat(n).isBetween(800, 1_200));
  }

  @Test
  void sentinelsWithoutMasterSetNameAndTheReverse() {
    rejects(() -> MasterDiscovery.builder().sentinels("redis:26379").build(), "without masterName", "masterName(\"mymaster\")");
    rejects(() -> MasterDiscovery.builder().masterName("mymaster").dnsName("redis-master", 6379).build(), "'mymaster' given without sentinels");
    rejects(() -> MasterDiscovery.builder().masterName("my master"), "masterName 'my master'");
  }

  @Test
  void kubernetesSettingsWithoutKubernetesLabels() {
    rejects(() -> MasterDiscovery.builder().dnsName("redis-master", 6379).namespace("redis").build(), "without kubernetesLabels");
  }

  @Test
  void contradictorySelectors() {
    rejects(() -> MasterDiscovery.builder().namespace("redis").kubernetesLabels("isMaster=true").kubernetesSelector("isMaster=false").build(),
        "contradicts");
  }

  @Test
  void nonPositiveDurations() {
    rejects(() -> MasterDiscovery.builder().verifyInterval(Duration.ZERO), "verifyInterval must be positive, was PT0S");
    rejects(() -> MasterDiscovery.builder().probeTimeout(Duration.ofMillis(-5)), "probeTimeout must be positive");
    rejects(() -> MasterDiscovery.builder().dnsTtl(null), "dnsTtl must be positive, was null");
    rejects(() -> MasterDiscovery.builder().sentinelHeartbeat(Duration.ZERO), "sentinelHeartbeat");
  }

  @Test
  void probeTimeoutLongerThanVerifyInterval() {
    rejects(() -> MasterDiscovery.builder().dnsName("redis-master", 6379).probeTimeout(Duration.ofSeconds(6)).build(),
        "probeTimeout PT6S is longer than verifyInterval PT5S");
  }

  @Test
  void namespaceCannotBeFound() {
    Config config = new ConfigBuilder(Config.empty()).withMasterUrl("http://127.0.0.1:1/").build();
    try (KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build()) {
      rejects(() -> MasterDiscovery.builder().kubernetesLabels(LabelPreset.BITNAMI).kubernetesClient(client)
          .serviceAccountNamespaceFile(Path.of("/nonexistent/namespace")).build(), "no Kubernetes namespace", "namespace(\"<ns>\")");
    }
  }

  @Test
  void headlessAndExternalTogether() {
    rejects(() -> MasterDiscovery.builder().namespace("redis").kubernetesLabels(LabelPreset.BITNAMI).podHostsFromHeadlessService("redis-headless")
        .externalAddress("redis-node-0", "lb:6379").build(), "choose one");
  }

  @Test
  void blankPortNames() {
    rejects(() -> MasterDiscovery.builder().podPortNames(), "podPortNames");
    rejects(() -> MasterDiscovery.builder().podPortNames(List.of("redis", " ").toArray(new String[0])), "podPortNames");
  }

  @Test
  void externalAccessNeedsTheReleaseSelectorAndOneWayToAddressPods() {
    rejects(() -> MasterDiscovery.builder().namespace("redis").kubernetesLabels(LabelPreset.BITNAMI).externalAccess(ExternalAccess.loadBalancers())
        .build(), "external access needs every pod of the release", "kubernetesSelector(\"app.kubernetes.io/instance=<release>\")");
    rejects(() -> MasterDiscovery.builder().externalAccess(ExternalAccess.loadBalancers()).dnsName("redis", 6379).build(),
        "without kubernetesLabels");
    rejects(() -> MasterDiscovery.builder().namespace("redis").kubernetesLabels(LabelPreset.BITNAMI).kubernetesSelector("app=x")
        .externalAccess(ExternalAccess.loadBalancers()).externalAddress("redis-node-0", "lb:6379").build(), "both set", "choose one");
    rejects(() -> MasterDiscovery.builder().namespace("redis").kubernetesLabels(LabelPreset.BITNAMI).kubernetesSelector("app=x")
        .podHostsFromHeadlessService("redis-headless").externalAccess(ExternalAccess.loadBalancers()).build(), "choose one way to address pods");
  }

  @Test
  void externalAccessSettingsAreCheckedAtOnce() {
    rejects(() -> ExternalAccess.nodePorts(null), "nodePorts needs a node address");
    rejects(() -> ExternalAccess.nodePorts(" "), "nodePorts needs a node address");
    rejects(() -> ExternalAccess.mapper(a -> a).serviceSelector("app=x"), "serviceSelector applies to loadBalancers() and nodePorts()");
    rejects(() -> ExternalAccess.nodePorts("10.0.0.1").hostAnnotation("external-dns.alpha.kubernetes.io/hostname"),
        "hostAnnotation applies to loadBalancers() only");
    rejects(() -> ExternalAccess.loadBalancers().serviceSelector("app"), "serviceSelector", "'app' is not key=value");
    rejects(() -> ExternalAccess.loadBalancers().hostAnnotation(" "), "hostAnnotation must name an annotation");
    assertThatThrownBy(() -> ExternalAccess.mapper(null)).isInstanceOf(NullPointerException.class).hasMessageContaining("mapper");
  }
}
