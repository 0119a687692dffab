package io.github.redismasterdiscovery.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

/**
 * The topology with every node and Sentinel in a Docker container (the image of {@code
 * -Drmd.testkit.image}), through the process topology's own scenarios: what Sentinels and replicas
 * announce is reachable, a killed master container is replaced and the label follows, a paused (frozen)
 * master, and a killed container started again rejoining as a replica. SENTINEL FAILOVER on containers
 * is in core's ContainerFailoverIT and spring-autoconfigure's ContainerServiceConnectionIT.
 * Without a Docker engine these tests fail; they are never skipped.
 */
@Tag("containers")
class ContainerTopologyIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.containers(b -> { });

  @Test
  void startsInContainersAndAnnouncesAddressesThisJvmReaches(RedisHaTopology t) {
    assertThat(t.runsInContainers()).isTrue();
    assertThat(t.nodes()).allSatisfy(n -> assertThat(n.isContainer()).isTrue());
    assertThat(t.nodes()).allSatisfy(n -> assertThat(n.pid()).isPositive());
    assertThat(t.role(t.node(0))).isEqualTo("master");
    assertThat(t.role(t.node(1))).isEqualTo("slave");
    assertThat(t.sentinelOpinions()).hasSize(3).allSatisfy((s, m) -> assertThat(m).isEqualTo(t.node(0).address()));
    // What a client learns from Sentinel must be what it can connect to: no container-internal address.
    try (Jedis sentinel = t.connect(t.sentinels().get(0))) {
      List<HostAndPort> announced = sentinel.sentinelReplicas(t.masterName()).stream()
          .map(r -> new HostAndPort(r.get("ip"), Integer.parseInt(r.get("port")))).collect(Collectors.toList());
      assertThat(announced).containsExactlyInAnyOrder(t.node(1).address(), t.node(2).address());
      List<Map<String, String>> peers = sentinel.sentinelSentinels(t.masterName());
      assertThat(peers).extracting(p -> new HostAndPort(p.get("ip"), Integer.parseInt(p.get("port"))))
          .containsExactlyInAnyOrderElementsOf(t.sentinelAddresses().subList(1, 3));
    }
    for (HostAndPort a : t.nodes().stream().map(RedisProcess::address).collect(Collectors.toList())) {
      try (Jedis j = new Jedis(a, t.clientConfig())) {
        assertThat(j.ping()).isEqualTo("PONG");
      }
    }
    assertThat(t.kubernetes().newClient().pods().inNamespace("redis").withName("redis-node-0").get()
        .getSpec().getContainers().get(0).getImage()).isEqualTo(System.getProperty(RedisHaTopology.Builder.IMAGE_PROPERTY, "redis:7"));
    System.out.println("container topology start took " + t.startMillis() + " ms");
  }

  @Test
  void killedMasterContainerIsReplacedTheLabelFollowsAndTheRestartedContainerRejoins(RedisHaTopology t) {
    KubernetesClient client = t.kubernetes().newClient();
    RedisProcess old = t.node(0);
    long pid = old.pid();
    old.kill();
    assertThat(old.isRunning()).isFalse();
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).as("the server process inside is gone").isFalse();
    RedisProcess next = awaitNewMaster(t, old);
    String newPod = t.podName(t.nodeIndex(next.address()));
    await().atMost(Duration.ofSeconds(5)).until(() -> labeledMasters(client).equals(List.of(newPod)));
    // A new container on the same folder: Sentinel's rewritten configuration and the address survive, as a pod's volume does.
    old.start();
    assertThat(t.awaitHealthy(Duration.ofSeconds(30))).isSameAs(next);
    assertThat(t.role(old)).isEqualTo("slave");
  }

  @Test
  void aPausedMasterContainerIsFailedOverAndRejoinsWhenUnpaused(RedisHaTopology t) {
    RedisProcess old = t.node(0);
    old.freeze();
    assertThat(old.isFrozen()).isTrue();
    assertThat(t.role(old)).isEqualTo("down");
    RedisProcess next = awaitNewMaster(t, old);
    old.unfreeze();
    assertThat(t.awaitHealthy(Duration.ofSeconds(30))).isSameAs(next);
  }

  private static RedisProcess awaitNewMaster(RedisHaTopology topology, RedisProcess old) {
    return topology.awaitNewMaster(old, Duration.ofSeconds(15));
  }

  private static List<String> labeledMasters(KubernetesClient client) {
    return client.pods().inNamespace("redis").withLabel("isMaster", "true").list().getItems().stream()
        .map(p -> p.getMetadata().getName()).sorted().collect(Collectors.toList());
  }
}
