package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;

class KubernetesLabelSourceTest {

  static final Source.Events NO_EVENTS = new Source.Events() {
    @Override
    public void changed() {}

    @Override
    public void proposed(HostAndPort candidate, SourceKind source, String why) {}
  };

  static KubernetesLabelSource source(String headless, Map<String, HostAndPort> external) {
    List<String> ports = List.of("redis", "tcp-redis");
    AddressTranslator translator = external.isEmpty() ? AddressTranslator.IN_CLUSTER
        : new KubernetesAddresses(null, "redis", Map.of(), ExternalAccess.staticMap(), external, ports, 6379, NO_EVENTS);
    return new KubernetesLabelSource(null, new KubernetesLabelSource.Settings("redis", Map.of("isMaster", "true"), Map.of("isMaster", "true"),
        ports, 6379, headless, "cluster.local"), translator, NO_EVENTS, new Warnings(Duration.ofMinutes(1)));
  }

  static PodBuilder pod(String name, String ip, String ready) {
    return new PodBuilder()
        .withNewMetadata().withName(name).addToLabels("isMaster", "true").endMetadata()
        .withNewSpec().addNewContainer().withName("redis").addNewPort().withName("tcp-redis").withContainerPort(6380).endPort().endContainer().endSpec()
        .withNewStatus().withPodIP(ip).addNewCondition().withType("Ready").withStatus(ready).endCondition().endStatus();
  }

  @Test
  void anApplicationsMapperTranslatesEveryPodAddressAndNullMeansNotReachable() {
    AddressTranslator mapper = AddressTranslator.of(a -> a.getHost().equals("10.1.2.3") ? new HostAndPort("203.0.113.7", 16380) : null);
    KubernetesLabelSource source = new KubernetesLabelSource(null, new KubernetesLabelSource.Settings("redis", Map.of("isMaster", "true"),
        Map.of("isMaster", "true"), List.of("redis", "tcp-redis"), 6379, null, "cluster.local"), mapper, NO_EVENTS,
        new Warnings(Duration.ofMinutes(1)));
    assertThat(source.candidate(pod("redis-node-0", "10.1.2.3", "True").build())).isEqualTo(new HostAndPort("203.0.113.7", 16380));
    assertThat(source.candidate(pod("redis-node-1", "10.1.2.4", "True").build())).as("never the pod IP").isNull();
  }

  @Test
  void aReadyLabeledPodIsAddressedByIpAndNamedPort() {
    assertThat(source(null, Map.of()).candidate(pod("redis-node-0", "10.1.2.3", "True").build())).isEqualTo(new HostAndPort("10.1.2.3", 6380));
  }

  @Test
  void podsNotReadyTerminatingWithoutIpOrWithAnotherLabelValueAreNoCandidates() {
    KubernetesLabelSource s = source(null, Map.of());
    assertThat(s.candidate(pod("a", "10.1.2.3", "False").build())).isNull();
    assertThat(s.candidate(pod("a", "10.1.2.3", "True").editMetadata().withDeletionTimestamp("2026-11-26T00:00:00Z").endMetadata().build())).isNull();
    assertThat(s.candidate(pod("a", null, "True").build())).isNull();
    assertThat(s.candidate(pod("a", "10.1.2.3", "True").editMetadata().addToLabels("isMaster", "false").endMetadata().build())).isNull();
    Pod nullValue = pod("a", "10.1.2.3", "True").build();
    nullValue.getMetadata().getLabels().put("isMaster", null);
    assertThat(s.candidate(nullValue)).isNull();
  }

  @Test
  void aMalformedPodIpIsSkipped() {
    KubernetesLabelSource s = source(null, Map.of());
    assertThat(s.candidate(pod("a", "10.1.2.300", "True").build())).isNull();
    assertThat(s.candidate(pod("a", "not-an-ip", "True").build())).isNull();
    assertThat(s.candidate(pod("a", "fd00::12", "True").build())).isEqualTo(new HostAndPort("fd00::12", 6380));
  }

  @Test
  void withoutANamedPortTheDefaultPortIsUsed() {
    Pod p = pod("a", "10.1.2.3", "True").editSpec().editFirstContainer().withPorts(List.of()).endContainer().endSpec().build();
    assertThat(source(null, Map.of()).candidate(p)).isEqualTo(new HostAndPort("10.1.2.3", 6379));
  }

  @Test
  void headlessServiceAddressingUsesThePodDnsName() {
    assertThat(source("redis-headless", Map.of()).candidate(pod("redis-node-1", "10.1.2.3", "True").build()))
        .isEqualTo(new HostAndPort("redis-node-1.redis-headless.redis.svc.cluster.local", 6380));
  }

  @Test
  void externalAccessMapsThePodToItsLoadBalancer() {
    KubernetesLabelSource s = source(null, Map.of("redis-node-1", new HostAndPort("203.0.113.7", 6379)));
    assertThat(s.candidate(pod("redis-node-1", "10.1.2.3", "True").build())).isEqualTo(new HostAndPort("203.0.113.7", 6379));
    assertThat(s.candidate(pod("redis-node-2", "10.1.2.4", "True").build())).isNull();
  }
}
