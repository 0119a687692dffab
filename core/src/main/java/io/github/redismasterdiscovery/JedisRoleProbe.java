package io.github.redismasterdiscovery;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.exceptions.JedisAccessControlException;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * {@code ROLE} over one kept connection per node (Caffeine, closed after five idle minutes), with
 * the caller's credentials and TLS settings and the probe timeout for connect and read.
 */
final class JedisRoleProbe implements RoleProbe {

  private final JedisClientConfig config;
  private final ExecutorService io;
  private final long timeoutMillis;
  private final Cache<HostAndPort, Node> connections;

  /** A kept connection and the run id of the server process behind it (null when INFO is not allowed). */
  private record Node(Jedis jedis, String runId) {}

  JedisRoleProbe(JedisClientConfig redisConfig, Duration timeout, ExecutorService io) {
    this.config = RedisConfigs.withTimeouts(redisConfig, timeout);
    this.io = io;
    this.timeoutMillis = timeout.toMillis();
    this.connections = Caffeine.newBuilder()
        .expireAfterAccess(Duration.ofMinutes(5))
        .maximumSize(256)
        .removalListener((HostAndPort a, Node n, RemovalCause c) -> closeQuietly(n == null ? null : n.jedis()))
        .build();
  }

  @Override
  public Map<HostAndPort, NodeRole> probe(Collection<HostAndPort> nodes) {
    return askAll(nodes, this::probeOne, n -> NodeRole.unreachable("no ROLE reply within " + timeoutMillis + " ms"));
  }

  @Override
  public Map<HostAndPort, ReplicationIds> replicationIds(Collection<HostAndPort> nodes) {
    Map<HostAndPort, ReplicationIds> out = askAll(nodes, this::idsOf, n -> null);
    out.values().removeIf(java.util.Objects::isNull); // no answer: that node's lineage stays unknown
    return out;
  }

  /**
   * Asks every node at once on the I/O executor; connect and read are each bounded by the timeout,
   * so the whole wait is bounded by both plus scheduling slack. A node that has not answered by then
   * gets {@code late}'s value.
   */
  private <R> Map<HostAndPort, R> askAll(Collection<HostAndPort> nodes, Function<HostAndPort, R> ask, Function<HostAndPort, R> late) {
    Map<HostAndPort, CompletableFuture<R>> asked = new LinkedHashMap<>();
    for (HostAndPort node : nodes) {
      asked.computeIfAbsent(node, n -> CompletableFuture.supplyAsync(() -> ask.apply(n), io));
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2 * timeoutMillis + 200);
    Map<HostAndPort, R> out = new LinkedHashMap<>();
    for (Map.Entry<HostAndPort, CompletableFuture<R>> e : asked.entrySet()) {
      try {
        out.put(e.getKey(), e.getValue().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
        out.put(e.getKey(), late.apply(e.getKey()));
      } catch (Exception ex) {
        out.put(e.getKey(), late.apply(e.getKey()));
      }
    }
    return out;
  }

  private ReplicationIds idsOf(HostAndPort node) {
    try {
      Jedis jedis = connections.get(node, this::connect).jedis();
      synchronized (jedis) {
        String replid = null;
        String replid2 = null;
        for (String line : jedis.info("replication").split("\r?\n")) {
          if (line.startsWith("master_replid:")) {
            replid = line.substring("master_replid:".length()).trim();
          } else if (line.startsWith("master_replid2:")) {
            replid2 = line.substring("master_replid2:".length()).trim();
          }
        }
        return replid == null ? null : new ReplicationIds(replid, replid2);
      }
    } catch (RuntimeException e) {
      connections.invalidate(node);
      return null;
    }
  }

  private NodeRole probeOne(HostAndPort node) {
    boolean reused = connections.getIfPresent(node) != null;
    NodeRole role = probeOnce(node);
    // A kept connection can die under a healthy node (Sentinel's failover runs CLIENT KILL TYPE normal,
    // idle timeouts): one retry on a fresh connection before the node counts as unreachable.
    return reused && role.kind() == NodeRole.Kind.UNREACHABLE ? probeOnce(node) : role;
  }

  private NodeRole probeOnce(HostAndPort node) {
    Node kept;
    try {
      kept = connections.get(node, this::connect);
    } catch (JedisAccessControlException e) {
      return NodeRole.error("authentication to " + node + " failed (" + firstLine(e) + "): check the Redis user/password");
    } catch (redis.clients.jedis.exceptions.JedisException e) {
      return NodeRole.unreachable("cannot connect to " + node + ": " + firstLine(e));
    } catch (RuntimeException e) {
      return NodeRole.error(node + " sent a handshake reply that cannot be read (" + e.getClass().getSimpleName() + "): is this a Redis server?");
    }
    Jedis jedis = kept.jedis();
    synchronized (jedis) {
      try {
        return parse(node, jedis.role()).withRunId(kept.runId());
      } catch (JedisConnectionException e) {
        connections.invalidate(node);
        return NodeRole.unreachable(node + " did not answer ROLE: " + firstLine(e));
      } catch (JedisDataException e) {
        connections.invalidate(node);
        return NodeRole.error(node + " refused ROLE (" + firstLine(e) + "): the Redis user needs +role");
      } catch (RuntimeException e) {
        connections.invalidate(node);
        return NodeRole.error(node + " sent an unreadable ROLE reply: " + firstLine(e));
      }
    }
  }

  private Node connect(HostAndPort address) {
    Jedis jedis = new Jedis(address, config);
    String runId = null;
    try {
      // Once per connection: a process restart drops the connection, so the id cannot go stale.
      for (String line : jedis.info("server").split("\r?\n")) {
        if (line.startsWith("run_id:")) {
          runId = line.substring("run_id:".length()).trim();
        }
      }
    } catch (JedisDataException e) {
      // INFO not allowed for this user: aliases of one server then count as distinct nodes.
    } catch (RuntimeException e) {
      closeQuietly(jedis);
      throw e;
    }
    return new Node(jedis, runId);
  }

  /** Parses a {@code ROLE} reply; anything unexpected is an {@link NodeRole.Kind#ERROR} naming the node. */
  static NodeRole parse(HostAndPort node, List<Object> reply) {
    if (reply == null || reply.isEmpty()) {
      return NodeRole.error(node + " sent an empty ROLE reply");
    }
    String role = text(reply.get(0));
    try {
      switch (role) {
        case "master": {
          List<HostAndPort> replicas = new ArrayList<>();
          if (reply.size() > 2 && reply.get(2) instanceof List) {
            for (Object r : (List<?>) reply.get(2)) {
              List<?> entry = (List<?>) r;
              replicas.add(new HostAndPort(text(entry.get(0)), Integer.parseInt(text(entry.get(1)))));
            }
          }
          return NodeRole.master(replicas);
        }
        case "slave":
        case "replica":
          return NodeRole.replicaOf(new HostAndPort(text(reply.get(1)), Integer.parseInt(text(reply.get(2)))));
        case "sentinel":
          return NodeRole.error(node + " is a Sentinel, not a Redis data node: list it under sentinels(...)");
        default:
          return NodeRole.error(node + " answered ROLE with unknown role '" + role + "'");
      }
    } catch (RuntimeException e) {
      return NodeRole.error(node + " sent a malformed ROLE reply for role '" + role + "': " + e);
    }
  }

  private static String text(Object o) {
    return o instanceof byte[] ? new String((byte[]) o, StandardCharsets.UTF_8) : String.valueOf(o);
  }

  static String firstLine(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String msg = root == e ? String.valueOf(e.getMessage()) : e.getMessage() + ": " + root.getMessage();
    int nl = msg.indexOf('\n');
    return nl < 0 ? msg : msg.substring(0, nl);
  }

  /** Closes a connection that may already be broken. */
  static void closeQuietly(Jedis jedis) {
    if (jedis != null) {
      try {
        jedis.close();
      } catch (RuntimeException ignored) {
        // closing a broken connection
      }
    }
  }

  @Override
  public void close() {
    connections.invalidateAll();
    connections.cleanUp();
  }
}
