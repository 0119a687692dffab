package io.github.redismasterdiscovery.testkit;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LoadBalancerIngressBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import redis.clients.jedis.HostAndPort;

/**
 * One load balancer per Redis pod, as Bitnami's {@code sentinel.externalAccess} renders them, for
 * tests of clients outside the cluster: a {@link TcpForwarder} per node on a loopback address of its
 * own (the load balancer), a LoadBalancer Service per pod in the mock API ({@code <pod>-svc},
 * {@code spec.selector} on {@code statefulset.kubernetes.io/pod-name}, port {@code tcp-redis} with
 * {@code targetPort: redis}), whose {@code status.loadBalancer.ingress} names the forwarder; and a
 * forwarder per Sentinel, the address a client outside uses for it. The nodes' and Sentinels' own
 * addresses stay what they announce to each other: {@link #internal()} names them, for a
 * {@link ConnectionGuard}.
 */
public final class LoadBalancers implements AutoCloseable {

  private final RedisHaTopology topology;
  private final KubernetesClient client;
  private final List<TcpForwarder> nodes = new ArrayList<>();
  private final List<TcpForwarder> sentinels = new ArrayList<>();
  private int nextHost = 30;

  private LoadBalancers(RedisHaTopology topology) {
    this.topology = topology;
    this.client = topology.kubernetes().newClient();
  }

  /** Starts a forwarder and a Service (with its load balancer address) for every node, and a forwarder per Sentinel. */
  public static LoadBalancers start(RedisHaTopology topology) {
    LoadBalancers lb = new LoadBalancers(topology);
    for (int i = 0; i < topology.nodes().size(); i++) {
      lb.nodes.add(lb.forwarder(topology.node(i).address()));
      lb.createService(i);
    }
    for (RedisProcess sentinel : topology.sentinels()) {
      lb.sentinels.add(lb.forwarder(sentinel.address()));
    }
    return lb;
  }

  private TcpForwarder forwarder(HostAndPort target) {
    String subnet = target.getHost().substring(0, target.getHost().lastIndexOf('.') + 1);
    return TcpForwarder.start(subnet + (nextHost++), target);
  }

  /** The Service of node {@code i}'s pod. */
  public String serviceName(int i) {
    return topology.podName(i) + "-svc";
  }

  /** Where a client outside reaches node {@code i}. */
  public HostAndPort external(int i) {
    return nodes.get(i).address();
  }

  /** Where a client outside reaches the Sentinels. */
  public List<HostAndPort> sentinelAddresses() {
    return sentinels.stream().map(TcpForwarder::address).toList();
  }

  /** Node {@code i}'s load balancer. */
  public TcpForwarder forwarder(int i) {
    return nodes.get(i);
  }

  /** Connections all load balancers (nodes and Sentinels) carried. */
  public long connections() {
    return nodes.stream().mapToLong(TcpForwarder::connections).sum() + sentinels.stream().mapToLong(TcpForwarder::connections).sum();
  }

  /** The addresses only the cluster may use: every node's and Sentinel's own. */
  public Predicate<HostAndPort> internal() {
    Set<HostAndPort> inside = new HashSet<>();
    topology.nodes().forEach(n -> inside.add(n.address()));
    topology.sentinels().forEach(s -> inside.add(s.address()));
    return inside::contains;
  }

  /** Node {@code i}'s Service loses its load balancer address (pending, as while a cloud provisions one). */
  public void pending(int i) {
    client.services().inNamespace(topology.kubernetes().namespace()).withName(serviceName(i))
        .editStatus(s -> new ServiceBuilder(s).editOrNewStatus().withNewLoadBalancer().endLoadBalancer().endStatus().build());
  }

  /** Node {@code i}'s Service gets its load balancer's address. */
  public void assign(int i) {
    client.services().inNamespace(topology.kubernetes().namespace()).withName(serviceName(i))
        .editStatus(s -> withIngress(s, nodes.get(i).address().getHost()));
  }

  /** Node {@code i}'s load balancer moves to a new address (the old one stops answering); the Service says so. */
  public void move(int i) {
    TcpForwarder old = nodes.get(i);
    TcpForwarder moved = forwarder(old.target());
    nodes.set(i, moved);
    client.services().inNamespace(topology.kubernetes().namespace()).withName(serviceName(i))
        .edit(s -> new ServiceBuilder(s).editSpec().editFirstPort().withPort(moved.address().getPort()).endPort().endSpec().build());
    assign(i);
    old.close();
  }

  /** Node {@code i}'s Service is deleted. */
  public void delete(int i) {
    client.services().inNamespace(topology.kubernetes().namespace()).withName(serviceName(i)).delete();
  }

  private void createService(int i) {
    Service svc = new ServiceBuilder()
        .withNewMetadata()
          .withName(serviceName(i))
          .withNamespace(topology.kubernetes().namespace())
          .addToLabels("app.kubernetes.io/instance", "redis")
          .addToLabels("app.kubernetes.io/component", "node")
        .endMetadata()
        .withNewSpec()
          .withType("LoadBalancer")
          .addToSelector("statefulset.kubernetes.io/pod-name", topology.podName(i))
          .addNewPort().withName("tcp-redis").withPort(nodes.get(i).address().getPort()).withTargetPort(new IntOrString("redis")).endPort()
        .endSpec()
        .build();
    client.services().inNamespace(topology.kubernetes().namespace()).resource(svc).create();
    assign(i);
  }

  private static Service withIngress(Service s, String ip) {
    return new ServiceBuilder(s).editOrNewStatus().withNewLoadBalancer()
        .withIngress(new LoadBalancerIngressBuilder().withIp(ip).build()).endLoadBalancer().endStatus().build();
  }

  @Override
  public void close() {
    nodes.forEach(TcpForwarder::close);
    sentinels.forEach(TcpForwarder::close);
    client.close();
  }
}
