package io.github.redismasterdiscovery;

import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.exceptions.JedisAccessControlException;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * Refusals that no retry cures: credentials the server does not accept, a password it does not
 * have, a user without a needed permission. Jedis raises most as {@link JedisAccessControlException}
 * ({@code WRONGPASS}, {@code NOAUTH}, {@code NOPERM}) but a password sent to a server that has none
 * ({@code ERR AUTH <password> called without any password configured ...}) as a plain
 * {@link JedisDataException}, so they are told apart by the reply, wherever they come from.
 */
final class Misconfiguration {

  private Misconfiguration() {}

  /** Who refused: the fix names that peer's settings. */
  enum Peer {
    SENTINEL("the Sentinel", "sentinelClientConfig", "the Sentinel user needs SENTINEL GET-MASTER-ADDR-BY-NAME, SUBSCRIBE and PING"),
    NODE("the Redis node", "clientConfig", "the Redis user needs +role, +info and +ping besides the application's own commands");

    final String who;
    final String setting;
    final String permissions;

    Peer(String who, String setting, String permissions) {
      this.who = who;
      this.setting = setting;
      this.permissions = permissions;
    }
  }

  /** Which configuration error a reply shows. */
  enum Kind {
    /** A password was sent to a server that has none. */
    UNEXPECTED_PASSWORD,
    /** The user or password is not accepted. */
    WRONG_CREDENTIALS,
    /** The server wants a password and none was sent. */
    PASSWORD_REQUIRED,
    /** Authenticated, but the user may not run a command the library needs. */
    NO_PERMISSION
  }

  /** The configuration error {@code e} shows, or null when it is something else (a network error, a busy server). */
  static Kind kind(Throwable e) {
    for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof JedisDataException) {
        Kind k = kind(c.getMessage(), c instanceof JedisAccessControlException);
        if (k != null) {
          return k;
        }
      }
    }
    return null;
  }

  static Kind kind(String reply, boolean accessControl) {
    String r = reply == null ? "" : reply.trim();
    String lower = r.toLowerCase(Locale.ROOT);
    // Redis 6+: "ERR AUTH <password> called without any password configured for the default user";
    // Redis 5 and older: "ERR Client sent AUTH, but no password is set".
    if (lower.contains("without any password configured") || lower.contains("but no password is set")) {
      return Kind.UNEXPECTED_PASSWORD;
    }
    if (r.startsWith("NOAUTH")) {
      return Kind.PASSWORD_REQUIRED;
    }
    if (r.startsWith("NOPERM")) {
      return Kind.NO_PERMISSION;
    }
    // Redis 6+: "WRONGPASS invalid username-password pair or user is disabled."; Redis 5: "ERR invalid password".
    if (r.startsWith("WRONGPASS") || lower.startsWith("err invalid password") || accessControl) {
      return Kind.WRONG_CREDENTIALS;
    }
    return null;
  }

  /** Cause and fix for {@code e} refused by {@code peer}, or null when {@code e} is no configuration error. */
  static String describe(Throwable e, Peer peer) {
    Kind k = kind(e);
    return k == null ? null : describe(k, peer, JedisRoleProbe.firstLine(e));
  }

  /** Cause and fix when {@code e} is a configuration error, else its first line. */
  static String describeOrFirstLine(Throwable e, Peer peer) {
    String misconfiguration = describe(e, peer);
    return misconfiguration != null ? misconfiguration : JedisRoleProbe.firstLine(e);
  }

  /**
   * What blocks every way to a master, by source; empty while any way is open. With no verified
   * master, either every configured source is blocked by a configuration error of its own
   * ({@code sourceErrors}: a null value is a source that is fine, unreachable or still starting;
   * configured nodes count as one source, blocked when each refuses us), or every node asked in the
   * latest evaluation refused us: whatever the sources name, no candidate can be proven.
   */
  static Map<SourceKind, String> blocking(MasterSnapshot s, Map<SourceKind, String> sourceErrors, Set<HostAndPort> configuredNodes,
      Map<HostAndPort, String> nodeErrors) {
    if (s.master().isPresent()) {
      return Map.of();
    }
    Map<SourceKind, String> out = new EnumMap<>(SourceKind.class);
    sourceErrors.forEach((kind, error) -> {
      if (error != null) {
        out.put(kind, error);
      }
    });
    boolean nodesBlocked = !configuredNodes.isEmpty() && nodeErrors.keySet().containsAll(configuredNodes);
    boolean everySourceBlocked = out.size() == sourceErrors.size() && (configuredNodes.isEmpty() || nodesBlocked)
        && !(sourceErrors.isEmpty() && configuredNodes.isEmpty());
    boolean everyAnswerRefused = !s.answers().isEmpty() && nodeErrors.keySet().containsAll(s.answers().keySet());
    if (!everySourceBlocked && !everyAnswerRefused) {
      return Map.of();
    }
    Set<HostAndPort> refused = new LinkedHashSet<>(s.answers().keySet());
    refused.addAll(configuredNodes);
    List<String> nodes = refused.stream().map(nodeErrors::get).filter(Objects::nonNull).distinct().toList();
    if (!nodes.isEmpty()) {
      out.put(SourceKind.NODE_PROBE, String.join("; ", nodes));
    }
    return out;
  }

  static String describe(Kind kind, Peer peer, String reply) {
    switch (kind) {
      case UNEXPECTED_PASSWORD:
        return "authentication failed: " + peer.who + " has no password, but one was sent (" + reply + "): remove the password from "
            + peer.setting + " (Jedis sends an empty password too)";
      case PASSWORD_REQUIRED:
        return "authentication failed: " + peer.who + " requires a password and none was sent (" + reply + "): set the password in "
            + peer.setting;
      case NO_PERMISSION:
        return "permission denied (" + reply + "): " + peer.permissions;
      case WRONG_CREDENTIALS:
      default:
        return "authentication failed: " + peer.who + " refused the user/password (" + reply + "): check the user and password in "
            + peer.setting;
    }
  }
}
