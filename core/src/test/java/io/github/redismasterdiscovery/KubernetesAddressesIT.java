package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.github.redismasterdiscovery.testkit.KubernetesApi;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;

/** The translation rules, against Services and pods in the mock API (no Redis needed): NodePort, host annotations, names, pass-through. */
class KubernetesAddressesIT {

  private KubernetesApi api;
  private KubernetesClient client;
  private KubernetesAddresses addresses;

  @BeforeEach
  void podsAndServices() {
    api = KubernetesApi.start("redis");
    client = api.newClient();
    for (int i = 0; i < 2; i++) {
      client.pods().inNamespace("redis").resource(new PodBuilder()
          .withNewMetadata().withName("redis-node-" + i).addToLabels("app.kubernetes.io/instance", "redis").endMetadata()
          .withNewSpec().addNewContainer().withName("redis").addNewPort().withName("redis").withContainerPort(6379).endPort().endContainer().endSpec()
          .withNewStatus().withPodIP("10.0.0.1" + i).endStatus().build()).create();
    }
    // node-0: NodePort, targetPort by number; node-1: LoadBalancer with a host name and an external-dns annotation, targetPort by name.
    client.services().inNamespace("redis").resource(new ServiceBuilder()
        .withNewMetadata().withName("redis-node-0").addToLabels("app.kubernetes.io/instance", "redis").endMetadata()
        .withNewSpec().withType("NodePort").addToSelector("statefulset.kubernetes.io/pod-name", "redis-node-0")
          .addNewPort().withName("tcp-redis").withPort(6379).withTargetPort(new IntOrString(6379)).withNodePort(30079).endPort().endSpec()
        .build()).create();
    client.services().inNamespace("redis").resource(new ServiceBuilder()
        .withNewMetadata().withName("redis-node-1-svc").addToLabels("app.kubernetes.io/instance", "redis")
          .addToAnnotations("external-dns.alpha.kubernetes.io/hostname", "redis-1.example.com").endMetadata()
        .withNewSpec().withType("LoadBalancer").addToSelector("apps.kubeblocks.io/pod-name", "redis-node-1")
          .addNewPort().withName("tcp-redis").withPort(6390).withTargetPort(new IntOrString("redis")).endPort().endSpec()
        .withNewStatus().withNewLoadBalancer().addNewIngress().withHostname("a1b2.elb.example.com").endIngress().endLoadBalancer().endStatus()
        .build()).create();
  }

  @AfterEach
  void close() {
    if (addresses != null) {
      addresses.close();
    }
    client.close();
    api.close();
  }

  private KubernetesAddresses start(ExternalAccess access) {
    addresses = new KubernetesAddresses(client, "redis", Map.of("app.kubernetes.io/instance", "redis"), access, Map.of(), List.of("redis"), 6379,
        KubernetesLabelSourceTest.NO_EVENTS);
    addresses.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> addresses.health().status() != SourceState.Status.STARTING);
    return addresses;
  }

  @Test
  void nodePortsAreReachedThroughTheConfiguredNodes() {
    KubernetesAddresses a = start(ExternalAccess.nodePorts("203.0.113.10"));
    HostAndPort node0 = new HostAndPort("203.0.113.10", 30079);
    assertThat(a.translate(new HostAndPort("10.0.0.10", 6379))).isEqualTo(node0);
    assertThat(a.translate(new HostAndPort("redis-node-0.redis-headless.redis.svc.cluster.local", 6379))).isEqualTo(node0);
    assertThat(a.translate(node0)).as("an external address passes through").isEqualTo(node0);
    assertThat(a.translate(new HostAndPort("10.0.0.11", 6379))).as("node-1's Service has no nodePort").isNull();
    assertThat(a.whyNot(new HostAndPort("10.0.0.11", 6379))).contains("Service redis-node-1-svc has no nodePort");
    assertThat(a.translate(new HostAndPort("10.9.9.9", 6379))).isNull();
    assertThat(a.whyNot(new HostAndPort("10.9.9.9", 6379))).contains("neither a pod").contains("nor a known external address");
    assertThat(a.health().status()).isEqualTo(SourceState.Status.DEGRADED);
  }

  @Test
  void loadBalancersUseTheIngressHostNameOrTheAnnotation() {
    assertThat(start(ExternalAccess.loadBalancers()).translate(new HostAndPort("10.0.0.11", 6379)))
        .isEqualTo(new HostAndPort("a1b2.elb.example.com", 6390));
    addresses.close();
    KubernetesAddresses a = start(ExternalAccess.loadBalancers().hostAnnotation("external-dns.alpha.kubernetes.io/hostname"));
    assertThat(a.translate(new HostAndPort("redis-node-1", 6379))).isEqualTo(new HostAndPort("redis-1.example.com", 6390));
    assertThat(a.translate(new HostAndPort("10.0.0.10", 6379))).as("node-0's Service is a NodePort: no load balancer").isNull();
    assertThat(a.whyNot(new HostAndPort("10.0.0.10", 6379))).contains("redis-node-0 has no load balancer address yet");
  }
}
