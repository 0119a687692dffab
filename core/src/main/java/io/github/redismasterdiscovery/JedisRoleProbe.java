package io.github.redismasterdiscovery;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;

/**
 * {@code ROLE} over one kept connection per node (Caffeine, closed after five idle minutes), with
 * the caller's credentials and TLS settings, the probe timeout for connect and read, and the client
 * name {@code rmd-probe}. Blocking calls run on the shared I/O pool; a node already being asked is
 * not asked twice at once (callers share the answer), and an answer that takes longer than twice the
 * timeout (plus slack for a busy pool) completes as {@link NodeRole.Kind#SILENT}.
 */
final class JedisRoleProbe implements RoleProbe {

  static final String CLIENT_NAME = "rmd-probe";

  private final JedisClientConfig config;
  private final SharedRuntime runtime;
  private final long timeoutMillis;
  private final Cache<HostAndPort, Node> connections;
  private final Map<HostAndPort, CompletableFuture<NodeRole>> inFlight = new ConcurrentHashMap<>();
  private volatile boolean closed;
  private final Map<HostAndPort, String> misconfigured = new ConcurrentHashMap<>(); // latest answer was a configuration error

  /** A kept connection and the run id of the server process behind it (null when INFO is not allowed). */
  private record Node(Jedis jedis, String runId) {}

  private final AddressTranslator translator;

  /** @param translator how the addresses in ROLE replies (a replica's master, a master's replicas) are reached from here */
  JedisRoleProbe(JedisClientConfig redisConfig, Duration timeout, SharedRuntime runtime, AddressTranslator translator) {
    this.translator = translator;
    this.config = RedisConfigs.named(RedisConfigs.withTimeouts(redisConfig, timeout), CLIENT_NAME);
    this.runtime = runtime;
    this.timeoutMillis = timeout.toMillis();
    this.connections = Caffeine.newBuilder()
        .expireAfterAccess(Duration.ofMinutes(5))
        .maximumSize(256)
        .executor(Runnable::run) // close evicted connections on the spot, not on the common pool
        .removalListener((HostAndPort a, Node n, RemovalCause c) -> closeQuietly(n == null ? null : n.jedis()))
        .build();
  }

  @Override
  public CompletableFuture<Map<HostAndPort, NodeRole>> probe(Collection<HostAndPort> nodes) {
    return all(nodes, this::role);
  }

  @Override
  public CompletableFuture<Map<HostAndPort, ReplicationIds>> replicationIds(Collection<HostAndPort> nodes) {
    return all(nodes, node -> ask(node, this::idsOf, null)).thenApply(m -> {
      m.values().removeIf(java.util.Objects::isNull); // no answer: that node's lineage stays unknown
      return m;
    });
  }

  /** One node's role; shares an answer already on its way. */
  CompletableFuture<NodeRole> role(HostAndPort node) {
    CompletableFuture<NodeRole> f = new CompletableFuture<>();
    CompletableFuture<NodeRole> pending = inFlight.putIfAbsent(node, f);
    if (pending != null) {
      return pending;
    }
    f.whenComplete((r, t) -> inFlight.remove(node, f));
    return ask(node, this::probeOne, NodeRole.silent("no ROLE reply within " + timeoutMillis + " ms"), f);
  }

  private <R> CompletableFuture<R> ask(HostAndPort node, Function<HostAndPort, R> blocking, R late) {
    return ask(node, blocking, late, new CompletableFuture<>());
  }

  /**
   * Runs {@code blocking} on the I/O pool. Connect and read are each bounded by the timeout; the
   * guard completes the answer with {@code late} if the pool was too busy to get to it in time.
   */
  private <R> CompletableFuture<R> ask(HostAndPort node, Function<HostAndPort, R> blocking, R late, CompletableFuture<R> f) {
    if (!runtime.io(() -> f.complete(blocking.apply(node)))) {
      f.complete(late);
      return f;
    }
    // On the timer thread itself: a guard queued on the I/O pool would wait behind the very work it gives up on.
    var guard = runtime.onTimer(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(2 * timeoutMillis + 200), () -> f.complete(late));
    if (guard != null) {
      f.whenComplete((r, t) -> guard.cancel(false));
    }
    return f;
  }

  private static <R> CompletableFuture<Map<HostAndPort, R>> all(Collection<HostAndPort> nodes, Function<HostAndPort, CompletableFuture<R>> ask) {
    Map<HostAndPort, CompletableFuture<R>> asked = new LinkedHashMap<>();
    for (HostAndPort node : new LinkedHashSet<>(nodes)) {
      asked.put(node, ask.apply(node));
    }
    return CompletableFuture.allOf(asked.values().toArray(new CompletableFuture<?>[0])).thenApply(v -> {
      Map<HostAndPort, R> out = new LinkedHashMap<>();
      asked.forEach((n, f) -> out.put(n, f.join()));
      return out;
    });
  }

  /** The run id of the server behind the kept connection to {@code node}, if one is open and INFO was allowed. */
  String runIdOf(HostAndPort node) {
    Node kept = connections.getIfPresent(node);
    return kept == null ? null : kept.runId();
  }

  private ReplicationIds idsOf(HostAndPort node) {
    boolean reused = connections.getIfPresent(node) != null;
    try {
      return idsOnce(node);
    } catch (JedisConnectionException e) {
      // As for ROLE: a kept connection may have died under a healthy node (Sentinel's CLIENT KILL on a
      // promotion). Without this retry a promoted replica's lineage goes missing exactly when it matters.
      if (reused) {
        try {
          return idsOnce(node);
        } catch (RuntimeException again) {
          return null;
        }
      }
      return null;
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** {@code INFO replication} over the kept connection; null when INFO is not allowed; throws on a connection error. */
  private ReplicationIds idsOnce(HostAndPort node) {
    Jedis jedis = connections.get(node, this::connect).jedis();
    if (closed) {
      connections.invalidate(node);
      return null;
    }
    synchronized (jedis) {
      try {
        String replid = null;
        String replid2 = null;
        for (String line : jedis.info("replication").split("\\r?\\n")) {
          if (line.startsWith("master_replid:")) {
            replid = line.substring("master_replid:".length()).trim();
          } else if (line.startsWith("master_replid2:")) {
            replid2 = line.substring("master_replid2:".length()).trim();
          }
        }
        return replid == null ? null : new ReplicationIds(replid, replid2);
      } catch (JedisDataException e) {
        return null; // INFO not allowed: the lineage stays unknown, the connection is fine
      } catch (RuntimeException e) {
        connections.invalidate(node);
        throw e;
      }
    }
  }

  private NodeRole probeOne(HostAndPort node) {
    boolean reused = connections.getIfPresent(node) != null;
    NodeRole role = probeOnce(node);
    // A kept connection can die under a healthy node (Sentinel's failover runs CLIENT KILL TYPE normal,
    // idle timeouts): one retry on a fresh connection before the node counts as unreachable.
    NodeRole answer = reused && role.kind() == NodeRole.Kind.UNREACHABLE ? probeOnce(node) : role;
    String misconfiguration = misconfigured.get(node);
    if (misconfiguration != null && !(answer.kind() == NodeRole.Kind.ERROR && answer.detail().equals(misconfiguration))) {
      misconfigured.remove(node, misconfiguration); // it answered something else since
    }
    return answer;
  }

  @Override
  public Map<HostAndPort, String> misconfigured() {
    return Map.copyOf(misconfigured);
  }

  /** A refusal no retry cures (credentials, permissions), remembered until the node answers otherwise. */
  private NodeRole misconfiguredAnswer(HostAndPort node, String why) {
    String detail = node + ": " + why;
    misconfigured.put(node, detail);
    return NodeRole.error(detail);
  }

  private NodeRole probeOnce(HostAndPort node) {
    Node kept;
    try {
      kept = connections.get(node, this::connect);
    } catch (JedisConnectionException e) {
      return timedOut(e) ? NodeRole.silent(node + ": no answer within " + timeoutMillis + " ms (" + firstLine(e) + ")")
          : NodeRole.unreachable(node + ": cannot connect (" + firstLine(e) + ")");
    } catch (JedisException e) {
      String misconfiguration = Misconfiguration.describe(e, Misconfiguration.Peer.NODE);
      return misconfiguration != null ? misconfiguredAnswer(node, misconfiguration) : NodeRole.error(node + ": " + firstLine(e));
    } catch (RuntimeException e) {
      return NodeRole.error(node + " sent a handshake reply that cannot be read (" + e.getClass().getSimpleName() + "): is this a Redis server?");
    }
    if (closed) { // a probe that connected while the discovery closed: its connection must not outlive it
      connections.invalidate(node);
      return NodeRole.unreachable("discovery closed");
    }
    Jedis jedis = kept.jedis();
    synchronized (jedis) {
      try {
        return parse(node, jedis.role()).translated(translator::translate).withRunId(kept.runId());
      } catch (JedisConnectionException e) {
        connections.invalidate(node);
        return timedOut(e) ? NodeRole.silent(node + ": no ROLE reply within " + timeoutMillis + " ms")
            : NodeRole.unreachable(node + ": connection lost (" + firstLine(e) + ")");
      } catch (JedisDataException e) {
        connections.invalidate(node);
        String misconfiguration = Misconfiguration.describe(e, Misconfiguration.Peer.NODE);
        return misconfiguration != null ? misconfiguredAnswer(node, misconfiguration)
            : NodeRole.error(node + ": " + firstLine(e) + " (the Redis user needs +role)");
      } catch (RuntimeException e) {
        connections.invalidate(node);
        return NodeRole.error(node + " sent an unreadable ROLE reply: " + firstLine(e));
      }
    }
  }

  /** A timeout (connect or read) rather than a refusal: the node may be stalled, not gone. */
  static boolean timedOut(Throwable e) {
    for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof SocketTimeoutException) {
        return true;
      }
    }
    return false;
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

  static String text(Object o) {
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
    closed = true;
    connections.invalidateAll();
    connections.cleanUp();
    inFlight.values().forEach(f -> f.complete(NodeRole.unreachable("discovery closed")));
  }
}
