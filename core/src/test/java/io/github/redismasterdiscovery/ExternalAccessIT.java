package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.github.redismasterdiscovery.testkit.ConnectionGuard;
import io.github.redismasterdiscovery.testkit.LoadBalancers;
import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

/**
 * A client outside the cluster: nodes and Sentinels announce addresses only the cluster may use
 * (live loopback addresses here, which a {@link ConnectionGuard} forbids and diverts), and each pod
 * has a load balancer (a forwarder) behind a LoadBalancer Service in the mock API. Every test ends by
 * asserting that no forbidden address was ever asked for and that the load balancers carried the traffic.
 */
class ExternalAccessIT {

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create();

  private RedisHaTopology t;
  private LoadBalancers lb;
  private ConnectionGuard guard;
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();

  @BeforeEach
  void outsideTheCluster() {
    t = ha.topology();
    lb = LoadBalancers.start(t);
    guard = new ConnectionGuard(lb.internal());
    logs.start();
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(logs);
  }

  @AfterEach
  void nothingInsideWasEverContacted() {
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(logs);
    try {
      assertThat(guard.violations()).as("connections to addresses only the cluster may use").isEmpty();
      assertThat(guard.attempts()).as("connections made").isNotEmpty();
      assertThat(guard.attempts()).noneMatch(a -> a.getHost().endsWith(".cluster.local"));
    } finally {
      lb.close();
    }
  }

  private MasterDiscoveryBuilder outside() {
    return MasterDiscovery.builder()
        .kubernetesLabels(LabelPreset.BITNAMI)
        .kubernetesSelector("app.kubernetes.io/instance=redis")
        .namespace(t.kubernetes().namespace())
        .kubernetesClient(t.kubernetes().newClient())
        .externalAccess(ExternalAccess.loadBalancers())
        .sentinels(lb.sentinelAddresses())
        .masterName(t.masterName())
        .clientConfig(guard.guard(t.clientConfig()))
        .sentinelClientConfig(guard.guard(t.sentinelClientConfig()));
  }

  @Test
  void writersFollowKillMinus9AndSentinelFailoverThroughTheLoadBalancers() throws Exception {
    ChangeRecorder changes = new ChangeRecorder();
    try (MasterDiscovery d = outside().listener(changes).build();
        FailoverJedisPool pool = new FailoverJedisPool(d, FailoverJedisPoolIT.poolConfig(), guard.guard(t.clientConfig()))) {
      assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(lb.external(0));
      await().atMost(Duration.ofSeconds(10)).until(() -> MasterDiscoveryIT.status(d, SourceKind.SERVICES) == SourceState.Status.UP);
      WriteLog log = new WriteLog();
      FailoverJedisPoolIT.Writers writers = new FailoverJedisPoolIT.Writers(4, key -> {
        long start = System.nanoTime();
        try {
          pool.execute(j -> j.set(key, "v"));
          log.acks.add(new WriteLog.Ack(key, start, System.nanoTime(), null));
        } catch (RuntimeException e) {
          log.errors.add(e.toString());
        }
      });
      await().atMost(Duration.ofSeconds(5)).until(() -> log.acks.size() > 200);

      RedisProcess first = t.master();
      first.kill();
      RedisProcess second = MasterDiscoveryIT.awaitNewMaster(t, first);
      ChangeRecorder.Change toSecond = changes.nextTo(lb.external(t.nodeIndex(second.address())), 15);
      assertWritesLandOn(second, log, toSecond.atNanos());

      first.start();
      // On a busy 2-core box Sentinel sometimes fails over by itself while the restarted node resyncs: fail over whichever
      // node is master now, and look for our switch only among the changes heard after that.
      RedisProcess current = t.awaitHealthy(Duration.ofSeconds(60));
      HostAndPort currentOutside = lb.external(t.nodeIndex(current.address()));
      await().atMost(Duration.ofSeconds(15)).until(() -> !changes.all.isEmpty() && currentOutside.equals(changes.all.get(changes.all.size() - 1).master()));
      changes.queue.clear(); // listeners hear changes in order: everything older has been heard
      t.failover();
      RedisProcess third = MasterDiscoveryIT.awaitNewMaster(t, current);
      ChangeRecorder.Change toThird = changes.nextTo(lb.external(t.nodeIndex(third.address())), 15);
      assertWritesLandOn(third, log, toThird.atNanos());
      writers.stopAndJoin();
      assertThat(lb.forwarder(t.nodeIndex(third.address())).connections()).as("the new master's load balancer carried connections").isPositive();
      System.out.printf("outside the cluster: %d writes through load balancers across kill -9 and SENTINEL FAILOVER, %d errors, %d "
          + "connections asked for, none inside%n", log.acks.size(), log.errors.size(), guard.attempts().size());
    }
  }

  private void assertWritesLandOn(RedisProcess master, WriteLog log, long switchedAt) {
    await().atMost(Duration.ofSeconds(10)).until(() -> log.startedAfter(switchedAt).size() > 100);
    assertThat(WriteLog.missing(t, master, log.startedAfter(switchedAt))).as("writes begun after the switch, on %s", master).isEmpty();
  }

  @Test
  void aPendingLoadBalancerIsNamedAndTheMasterIsFoundOnceItHasAnAddress() {
    lb.pending(0);
    try (MasterDiscovery d = outside().build()) {
      assertThatThrownBy(() -> d.awaitMaster(Duration.ofSeconds(2)))
          .isInstanceOf(MasterUnavailableException.class)
          .hasMessageContaining("Service " + lb.serviceName(0) + " has no load balancer address yet");
      assertThat(MasterDiscoveryIT.status(d, SourceKind.SERVICES)).isEqualTo(SourceState.Status.DEGRADED);
      lb.assign(0);
      assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(lb.external(0));
      await().atMost(Duration.ofSeconds(5)).until(() -> MasterDiscoveryIT.status(d, SourceKind.SERVICES) == SourceState.Status.UP);
    }
  }

  @Test
  void aMovedLoadBalancerIsANewMasterAddressAndPoolsReconnect() throws Exception {
    ChangeRecorder changes = new ChangeRecorder();
    try (MasterDiscovery d = outside().listener(changes).build();
        FailoverJedisPool pool = new FailoverJedisPool(d, FailoverJedisPoolIT.poolConfig(), guard.guard(t.clientConfig()))) {
      assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(lb.external(0));
      changes.next(5);
      pool.execute(j -> j.set("before", "1"));
      long generation = d.snapshot().generation();
      lb.move(0);
      ChangeRecorder.Change moved = changes.nextTo(lb.external(0), 10);
      assertThat(moved.current().generation()).isGreaterThan(generation);
      String before = pool.execute(j -> j.get("before"));
      assertThat(before).isEqualTo("1");
      try (Jedis j = pool.getResource()) {
        assertThat(j.clientInfo()).contains("laddr=" + t.node(0).address()); // the same server, through its new load balancer
      }
      assertThat(lb.forwarder(0).connections()).isPositive();

      lb.delete(0);
      await().atMost(Duration.ofSeconds(10)).until(() -> d.snapshot().master().isEmpty());
      assertThat(d.snapshot().sources().get(SourceKind.SERVICES).detail()).contains("no Service selects pod " + t.podName(0));
    }
  }

  @Test
  void aSentinelAnnouncingAHeadlessServiceNameIsTranslatedNeverResolved() throws Exception {
    String headless = t.podName(0) + ".redis-headless." + t.kubernetes().namespace() + ".svc.cluster.local";
    try (GarbageServer sentinel = new GarbageServer(cmd -> cmd.get(0).equalsIgnoreCase("SENTINEL")
            ? "*2\r\n$" + headless.length() + "\r\n" + headless + "\r\n$" + Integer.toString(t.node(0).address().getPort()).length() + "\r\n"
                + t.node(0).address().getPort() + "\r\n"
            : "+OK\r\n");
        MasterDiscovery d = outside().sentinels(List.of(sentinel.address())).build()) {
      // Found through the pod the name's first label names; the name itself is never looked up (see nothingInsideWasEverContacted).
      assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(lb.external(0));
    }
  }

  @Test
  void servicesForbiddenByRbacAreReportedOnceWithTheFix() {
    t.kubernetes().server().expect().get().withPath("/api/v1/namespaces/redis/services?labelSelector=app.kubernetes.io%2Finstance%3Dredis"
        + "&resourceVersion=0").andReturn(403, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"Forbidden\","
            + "\"code\":403,\"message\":\"services is forbidden\"}").always();
    try (MasterDiscovery d = outside().build()) {
      await().atMost(Duration.ofSeconds(10)).until(() -> MasterDiscoveryIT.status(d, SourceKind.SERVICES) == SourceState.Status.DOWN);
      assertThat(d.snapshot().sources().get(SourceKind.SERVICES).detail()).contains("HTTP 403").contains("get, list, watch on services");
      List<String> warnings = logs.list.stream().filter(e -> e.getLevel() == Level.WARN && e.getFormattedMessage().contains("SERVICES"))
          .map(ILoggingEvent::getFormattedMessage).toList();
      assertThat(warnings).hasSize(1);
    }
  }

  @Test
  void onlyPodsAndServicesOfTheNamespaceAreAskedOfTheApi() {
    int before = t.kubernetes().requests().size();
    try (MasterDiscovery d = outside().build()) {
      d.awaitMaster(Duration.ofSeconds(10));
      await().atMost(Duration.ofSeconds(10)).until(() -> MasterDiscoveryIT.status(d, SourceKind.SERVICES) == SourceState.Status.UP);
    }
    List<String> requests = t.kubernetes().requests().subList(before, t.kubernetes().requests().size());
    assertThat(requests).isNotEmpty().allSatisfy(r -> assertThat(r).matches("GET /api/v1/namespaces/redis/(pods|services)\\?.*"));
  }

  @Test
  void addressesThatAreAlreadyExternalPassThrough() throws Exception {
    // Replicas announce their load balancers (Bitnami with loadBalancerIP set): the master's ROLE reply names external addresses.
    for (int i = 1; i < t.nodes().size(); i++) {
      try (Jedis replica = t.connect(t.node(i))) {
        replica.configSet("replica-announce-ip", lb.external(i).getHost());
        replica.configSet("replica-announce-port", Integer.toString(lb.external(i).getPort()));
        replica.sendCommand(redis.clients.jedis.Protocol.Command.CLIENT, "KILL", "TYPE", "master");
      }
    }
    try (Jedis master = t.connect(t.node(0))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> JedisRoleProbe.parse(t.node(0).address(), master.role()).replicas()
          .containsAll(List.of(lb.external(1), lb.external(2))));
    }
    try (MasterDiscovery d = outside().build()) {
      assertThat(d.awaitMaster(Duration.ofSeconds(10))).isEqualTo(lb.external(0));
      t.sentinels().forEach(RedisProcess::kill);
      t.labels().pause();
      t.node(0).kill(); // no source left: only the replicas the ROLE reply named can lead anywhere
      await().atMost(Duration.ofSeconds(15)).until(() -> d.snapshot().answers().keySet().containsAll(List.of(lb.external(1), lb.external(2))));
      assertThat(d.snapshot().answers().get(lb.external(1))).startsWith("replica of");
    }
  }
}
