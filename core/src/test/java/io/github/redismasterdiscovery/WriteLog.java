package io.github.redismasterdiscovery;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

/** Acknowledged writes (unique keys), which node acknowledged each, and errors surfaced to callers. */
final class WriteLog {

  record Ack(String key, long startNanos, long atNanos, HostAndPort node) {}

  final ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
  final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
  final AtomicLong attempts = new AtomicLong();
  private final Map<Object, HostAndPort> nodeOfConnection = Collections.synchronizedMap(new java.util.WeakHashMap<>());

  /** The server address behind a connection, from CLIENT INFO's laddr, asked once per connection. */
  HostAndPort nodeOf(Object connection, java.util.function.Supplier<String> clientInfo) {
    return nodeOfConnection.computeIfAbsent(connection, c -> {
      for (String field : clientInfo.get().trim().split(" ")) {
        if (field.startsWith("laddr=")) {
          return HostAndPort.from(field.substring("laddr=".length()));
        }
      }
      throw new IllegalStateException("no laddr in CLIENT INFO");
    });
  }

  /**
   * A writer for {@link FailoverJedisPoolIT.Writers}: {@code SET key v} through {@code pool.execute},
   * recording each acknowledgment with the node that gave it, and each error surfaced.
   */
  java.util.function.Consumer<String> setsThrough(FailoverJedisPool pool) {
    return key -> {
      attempts.incrementAndGet();
      long start = System.nanoTime();
      try {
        pool.execute(j -> {
          HostAndPort node = nodeOf(j, j::clientInfo);
          j.set(key, "v");
          acks.add(new Ack(key, start, System.nanoTime(), node));
          return null;
        });
      } catch (RuntimeException e) {
        errors.add(e.getClass().getSimpleName() + ": " + e.getMessage());
      }
    };
  }

  List<Ack> ackedAfter(long nanos) {
    return acks.stream().filter(a -> a.atNanos() > nanos).collect(Collectors.toList());
  }

  /** Writes whose call began after {@code nanos}: no connection borrowed earlier can have carried them. */
  List<Ack> startedAfter(long nanos) {
    return acks.stream().filter(a -> a.startNanos() > nanos).collect(Collectors.toList());
  }

  /** Acknowledged keys missing from {@code node} (keys are checked in batches with EXISTS). */
  static List<String> missing(RedisHaTopology t, RedisProcess node, List<Ack> writes) {
    List<String> out = new ArrayList<>();
    try (Jedis jedis = t.connect(node)) {
      for (Ack a : writes) {
        if (!jedis.exists(a.key())) {
          out.add(a.key());
        }
      }
    }
    return out;
  }

  Set<HostAndPort> nodes() {
    return acks.stream().map(Ack::node).collect(Collectors.toSet());
  }
}
