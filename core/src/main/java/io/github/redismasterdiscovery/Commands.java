package io.github.redismasterdiscovery;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;
import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.commands.ProtocolCommand;

/** What the library needs to know about commands: which only read, and which of those a replica may answer. */
final class Commands {

  private static final Set<String> READ_ONLY = Set.of(
      "GET", "MGET", "GETRANGE", "STRLEN", "EXISTS", "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME", "TYPE", "KEYS", "SCAN", "DBSIZE",
      "RANDOMKEY", "HGET", "HMGET", "HGETALL", "HKEYS", "HVALS", "HLEN", "HEXISTS", "HSTRLEN", "HSCAN", "HRANDFIELD",
      "LRANGE", "LINDEX", "LLEN", "LPOS", "SMEMBERS", "SISMEMBER", "SMISMEMBER", "SCARD", "SSCAN", "SRANDMEMBER", "SINTER",
      "SUNION", "SDIFF", "SINTERCARD", "ZRANGE", "ZRANGEBYSCORE", "ZREVRANGE", "ZREVRANGEBYSCORE", "ZRANGEBYLEX", "ZSCORE",
      "ZMSCORE", "ZCARD", "ZCOUNT", "ZLEXCOUNT", "ZRANK", "ZREVRANK", "ZSCAN", "ZRANDMEMBER", "XRANGE", "XREVRANGE", "XLEN",
      "XINFO", "BITCOUNT", "BITPOS", "GETBIT", "PFCOUNT", "GEOPOS", "GEODIST", "GEOSEARCH", "GEOHASH", "OBJECT", "MEMORY",
      "DUMP", "TOUCH", "PING", "ECHO", "TIME", "INFO", "ROLE", "LCS", "SORT_RO", "EVAL_RO", "EVALSHA_RO", "FCALL_RO");

  /**
   * Read-only, but never sent to a replica in the master's place: server introspection meant for the
   * node asked, and {@code EVALSHA_RO} (each node has its own script cache: a replica may answer NOSCRIPT).
   */
  private static final Set<String> NOT_ON_REPLICAS = Set.of("PING", "ECHO", "TIME", "INFO", "ROLE", "OBJECT", "MEMORY", "DBSIZE", "RANDOMKEY",
      "KEYS", "SCAN", "EVALSHA_RO");

  private Commands() {}

  static String name(ProtocolCommand command) {
    return new String(command.getRaw(), StandardCharsets.US_ASCII).toUpperCase(Locale.ROOT);
  }

  static boolean isReadOnly(CommandArguments args) {
    return READ_ONLY.contains(name(args.getCommand()));
  }

  /** Whether a replica may answer this command in the master's place: it reads keys and changes nothing. */
  static boolean isReplicaRead(CommandArguments args) {
    String name = name(args.getCommand());
    return READ_ONLY.contains(name) && !NOT_ON_REPLICAS.contains(name);
  }
}
