package io.github.redismasterdiscovery.testkit;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;

/**
 * Asks every Sentinel of a topology which node it holds as master, over one kept connection per
 * Sentinel (reconnected after a failure). Not thread-safe: each user holds its own.
 */
final class SentinelQuery implements AutoCloseable {

  private final List<RedisProcess> sentinels;
  private final JedisClientConfig config;
  private final String masterName;
  private final Map<RedisProcess, Jedis> connections = new HashMap<>();

  SentinelQuery(List<RedisProcess> sentinels, JedisClientConfig config, String masterName) {
    this.sentinels = sentinels;
    this.config = config;
    this.masterName = masterName;
  }

  /** Each answering Sentinel's master; Sentinels that are down or frozen are left out. */
  Map<RedisProcess, HostAndPort> opinions() {
    Map<RedisProcess, HostAndPort> out = new HashMap<>();
    for (RedisProcess sentinel : sentinels) {
      if (!sentinel.isRunning() || sentinel.isFrozen()) {
        close(sentinel);
        continue;
      }
      try {
        Jedis jedis = connections.computeIfAbsent(sentinel, s -> new Jedis(s.address(), config));
        List<String> addr = jedis.sentinelGetMasterAddrByName(masterName);
        if (addr != null && addr.size() == 2) {
          out.put(sentinel, new HostAndPort(addr.get(0), Integer.parseInt(addr.get(1))));
        }
      } catch (RuntimeException e) {
        close(sentinel);
      }
    }
    return out;
  }

  /** The master named by a strict majority of all configured Sentinels, or null. */
  HostAndPort majority() {
    Map<HostAndPort, Integer> votes = new HashMap<>();
    opinions().values().forEach(a -> votes.merge(a, 1, Integer::sum));
    return votes.entrySet().stream()
        .filter(e -> e.getValue() > sentinels.size() / 2)
        .map(Map.Entry::getKey)
        .findFirst()
        .orElse(null);
  }

  private void close(RedisProcess sentinel) {
    Jedis jedis = connections.remove(sentinel);
    if (jedis != null) {
      try {
        jedis.close();
      } catch (RuntimeException ignored) {
        // the link is already broken
      }
    }
  }

  @Override
  public void close() {
    List.copyOf(connections.keySet()).forEach(this::close);
  }
}
