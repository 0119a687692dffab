package io.github.redismasterdiscovery.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisConnectionException;

class RedisHaTopologyIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create();

  @Test
  void startsOneMasterTwoReplicasThreeSentinelsOnDistinctAddresses(RedisHaTopology topology) {
    assertThat(topology.role(topology.node(0))).isEqualTo("master");
    assertThat(topology.role(topology.node(1))).isEqualTo("slave");
    assertThat(topology.role(topology.node(2))).isEqualTo("slave");
    assertThat(topology.sentinelOpinions()).hasSize(3).allSatisfy((s, m) -> assertThat(m).isEqualTo(topology.node(0).address()));
    List<HostAndPort> all = topology.nodes().stream().map(RedisProcess::address).collect(Collectors.toList());
    all.addAll(topology.sentinelAddresses());
    assertThat(all).doesNotHaveDuplicates();
    System.out.println("topology start took " + topology.startMillis() + " ms");
  }

  @Test
  void podsMirrorTheNodes(RedisHaTopology topology) {
    KubernetesClient client = topology.kubernetes().newClient();
    List<Pod> pods = client.pods().inNamespace("redis").list().getItems();
    assertThat(pods).extracting(p -> p.getMetadata().getName()).containsExactlyInAnyOrder("redis-node-0", "redis-node-1", "redis-node-2");
    Pod pod1 = client.pods().inNamespace("redis").withName("redis-node-1").get();
    assertThat(pod1.getStatus().getPodIP()).isEqualTo(topology.node(1).address().getHost());
    assertThat(pod1.getSpec().getContainers().get(0).getPorts().get(0).getName()).isEqualTo("redis");
    assertThat(pod1.getSpec().getContainers().get(0).getPorts().get(0).getContainerPort()).isEqualTo(topology.node(1).address().getPort());
    assertThat(pod1.getStatus().getConditions()).anySatisfy(c -> {
      assertThat(c.getType()).isEqualTo("Ready");
      assertThat(c.getStatus()).isEqualTo("True");
    });
    assertThat(labeledMasters(client)).containsExactly("redis-node-0");
  }

  @Test
  void killedMasterIsReplacedAndTheLabelAndWatchFollow(RedisHaTopology topology) throws Exception {
    KubernetesClient client = topology.kubernetes().newClient();
    BlockingQueue<String> events = new LinkedBlockingQueue<>();
    try (Watch watch = client.pods().inNamespace("redis").withLabel("isMaster", "true").watch(recorder(events))) {
      RedisProcess old = topology.node(0);
      old.kill();
      RedisProcess next = topology.awaitAgreedMaster(Duration.ofSeconds(10));
      assertThat(next).isNotSameAs(old);
      String newPod = topology.podName(topology.nodeIndex(next.address()));

      assertThat(poll(events)).as("a new watch first lists what matches").isEqualTo("ADDED redis-node-0");
      // Like the real label scripts, the updater labels the new master before demoting the old one.
      assertThat(List.of(poll(events), poll(events))).containsExactlyInAnyOrder("DELETED redis-node-0", "ADDED " + newPod);
      assertThat(labeledMasters(client)).containsExactly(newPod);
      assertThat(client.pods().inNamespace("redis").withName("redis-node-0").get().getMetadata().getLabels()).containsEntry("isMaster", "false");
    }
  }

  @Test
  void sentinelFailoverIsGracefulAndTheLabelFollows(RedisHaTopology topology) {
    topology.failover();
    await().atMost(Duration.ofSeconds(10)).until(() -> topology.awaitAgreedMaster(Duration.ofSeconds(10)) != topology.node(0));
    RedisProcess next = topology.master();
    KubernetesClient client = topology.kubernetes().newClient();
    await().atMost(Duration.ofSeconds(5)).until(() -> labeledMasters(client).equals(List.of(topology.podName(topology.nodeIndex(next.address())))));
    // Sentinel demotes the old master at its next INFO poll of it, a fixed 10 s period: measured ~10.4 s here.
    await().atMost(Duration.ofSeconds(20)).until(() -> topology.role(topology.node(0)).equals("slave"));
  }

  @Test
  void labelLagDelaysTheLabelMove(RedisHaTopology topology) {
    topology.labels().setLag(Duration.ofSeconds(2));
    KubernetesClient client = topology.kubernetes().newClient();
    topology.failover();
    RedisProcess next = awaitNewMaster(topology, topology.node(0));
    long switchedAt = System.nanoTime();
    // The label still names the old master right after Sentinel switched ...
    assertThat(labeledMasters(client)).containsExactly("redis-node-0");
    String newPod = topology.podName(topology.nodeIndex(next.address()));
    await().atMost(Duration.ofSeconds(6)).until(() -> labeledMasters(client).equals(List.of(newPod)));
    // ... and moves only after the lag (the updater saw the switch no earlier than we did).
    assertThat(Duration.ofNanos(System.nanoTime() - switchedAt)).isGreaterThanOrEqualTo(Duration.ofMillis(1900));
  }

  @Test
  void dropNextUpdateLeavesTheLabelOnTheOldMaster(RedisHaTopology topology) {
    topology.labels().dropNextUpdate();
    KubernetesClient client = topology.kubernetes().newClient();
    topology.failover();
    RedisProcess next = awaitNewMaster(topology, topology.node(0));
    await().atMost(Duration.ofSeconds(5)).until(() -> next.address().equals(topology.labels().appliedMaster()));
    assertThat(labeledMasters(client)).containsExactly("redis-node-0");
    assertThat(topology.labels().updates()).isZero();
  }

  @Test
  void labelTwoPodsLabelsMasterAndAReplica(RedisHaTopology topology) {
    topology.labels().labelTwoPods();
    assertThat(labeledMasters(topology.kubernetes().newClient())).containsExactlyInAnyOrder("redis-node-0", "redis-node-1");
  }

  @Test
  void labelNoneLeavesNoPodLabeled(RedisHaTopology topology) {
    topology.labels().labelNone();
    assertThat(labeledMasters(topology.kubernetes().newClient())).isEmpty();
  }

  @Test
  void labelReplicaPutsTheLabelOnANonMaster(RedisHaTopology topology) {
    int replica = topology.labels().labelReplica();
    assertThat(labeledMasters(topology.kubernetes().newClient())).containsExactly(topology.podName(replica));
    assertThat(topology.role(topology.node(replica))).isEqualTo("slave");
  }

  @Test
  void apiServerRestartKeepsStateAndWatchersReconnect(RedisHaTopology topology) throws Exception {
    KubernetesApi api = topology.kubernetes();
    KubernetesClient client = api.newClient();
    api.stop();
    assertThat(api.isRunning()).isFalse();
    assertThatThrownBy(() -> client.pods().inNamespace("redis").list()).isInstanceOf(RuntimeException.class);
    api.restart();
    assertThat(labeledMasters(client)).containsExactly("redis-node-0");

    api.restartEmpty();
    assertThat(client.pods().inNamespace("redis").list().getItems()).isEmpty();
    assertThat(api.requests()).anyMatch(r -> r.startsWith("GET /api/v1/namespaces/redis/pods"));
  }

  @Test
  void labelWritesMadeWhileTheApiIsDownLandWhenItReturns(RedisHaTopology topology) {
    KubernetesApi api = topology.kubernetes();
    api.stop();
    topology.failover();
    RedisProcess next = awaitNewMaster(topology, topology.node(0));
    api.restart();
    String newPod = topology.podName(topology.nodeIndex(next.address()));
    await().atMost(Duration.ofSeconds(5)).until(() -> labeledMasters(api.newClient()).equals(List.of(newPod)));
  }

  @Test
  void freezeStopsAnswersAndUnfreezeResumes(RedisHaTopology topology) {
    RedisProcess replica = topology.node(1);
    replica.freeze();
    assertThat(replica.isFrozen()).isTrue();
    assertThat(topology.role(replica)).isEqualTo("down");
    assertThatThrownBy(() -> {
      try (Jedis jedis = new Jedis(replica.address(), DefaultJedisClientConfig.builder().socketTimeoutMillis(300).build())) {
        jedis.ping();
      }
    }).isInstanceOf(JedisConnectionException.class).hasMessageContaining("Read timed out");
    replica.unfreeze();
    assertThat(topology.role(replica)).isEqualTo("slave");
  }

  @Test
  void stopAndStartKeepAddressAndPortAndSentinelDemotesARestartedOldMaster(RedisHaTopology topology) {
    RedisProcess old = topology.node(0);
    HostAndPort address = old.address();
    old.kill();
    awaitNewMaster(topology, old);
    old.start();
    assertThat(old.address()).isEqualTo(address);
    // Demoted to a replica of whichever node the Sentinels agree on now: on a loaded machine a second
    // failover (down-after is 1 s here) may move the master again between the two reads, which is Sentinel
    // doing its job, not the restart going wrong.
    await().atMost(Duration.ofSeconds(15)).until(() -> topology.role(old).equals("slave")
        && replicatesFrom(topology, old).equals(topology.awaitAgreedMaster(Duration.ofSeconds(10)).address()));
  }

  private static HostAndPort replicatesFrom(RedisHaTopology topology, RedisProcess replica) {
    try (Jedis jedis = topology.connect(replica)) {
      List<Object> role = jedis.role();
      return new HostAndPort((String) role.get(1), ((Number) role.get(2)).intValue());
    }
  }

  @Test
  void closeLeavesNoProcessAndNoFileBehind() {
    RedisHaTopology extra = RedisHaTopology.builder().kubernetes(false).start();
    List<Long> pids = extra.nodes().stream().map(RedisProcess::pid).collect(Collectors.toList());
    extra.sentinels().forEach(s -> pids.add(s.pid()));
    assertThat(pids).hasSize(6).allMatch(p -> p > 0);
    Path dir = extra.directory();
    assertThat(dir.resolve("sentinel-0")).isDirectory();
    extra.close();
    extra.close(); // idempotent
    assertThat(pids).allSatisfy(p -> assertThat(ProcessHandle.of(p).map(ProcessHandle::isAlive).orElse(false)).isFalse());
    // A suite starts hundreds of topologies: each one's configuration files and logs go with it.
    assertThat(dir).doesNotExist();
  }

  private static RedisProcess awaitNewMaster(RedisHaTopology topology, RedisProcess old) {
    return topology.awaitNewMaster(old, Duration.ofSeconds(15));
  }

  private static List<String> labeledMasters(KubernetesClient client) {
    return client.pods().inNamespace("redis").withLabel("isMaster", "true").list().getItems().stream()
        .map(p -> p.getMetadata().getName()).sorted().collect(Collectors.toList());
  }

  private static String poll(BlockingQueue<String> events) throws InterruptedException {
    String event = events.poll(15, TimeUnit.SECONDS);
    assertThat(event).as("watch event within 15 s").isNotNull();
    return event;
  }

  private static Watcher<Pod> recorder(BlockingQueue<String> events) {
    return new Watcher<>() {
      @Override
      public void eventReceived(Action action, Pod pod) {
        events.add(action + " " + pod.getMetadata().getName());
      }

      @Override
      public void onClose(WatcherException cause) {
        events.add("CLOSED " + cause);
      }
    };
  }
}
