package io.github.redismasterdiscovery;

import java.util.List;
import redis.clients.jedis.HostAndPort;

/**
 * One source of master candidates. Sources only propose: every candidate is proven with
 * {@code ROLE} before use. A source tells the discovery through {@link Events} when its opinion or
 * health may have changed, and names a new candidate as soon as it sees one, so that the discovery
 * can chase it (ask it again every few ms until it is master) rather than wait for the next round.
 */
interface Source extends AutoCloseable {

  /** What a source tells the discovery. Implementations return at once and never throw. */
  interface Events {
    /** Opinion or health may have changed: evaluate again. */
    void changed();

    /** {@code candidate} was just named as the master (or as the one being promoted): prove it soon. */
    void proposed(HostAndPort candidate, SourceKind source, String why);
  }

  /** Which kind of source this is. */
  SourceKind kind();

  /** Starts watching; returns at once. */
  void start();

  /** The addresses this source currently proposes, best first; empty when it has none. Never blocks. */
  List<HostAndPort> candidates();

  /** The current health; polled on every evaluation round, so cheap. Its detail says what the source sees. */
  Health health();

  /**
   * A configuration error that blocks this source as a whole and that no retry cures (wrong or
   * unexpected credentials, an unknown Sentinel master set, RBAC 403), naming the cause and the fix;
   * null when there is none. Start-up gives up at once when every source is blocked so (see
   * {@link MasterDiscovery#awaitMaster}). Thread-safe and cheap.
   */
  default String misconfiguration() {
    return null;
  }

  @Override
  void close();

  /** A status and its explanation. */
  record Health(SourceState.Status status, String detail) {
    static Health up() {
      return new Health(SourceState.Status.UP, "");
    }

    static Health up(String detail) {
      return new Health(SourceState.Status.UP, detail);
    }
  }
}
