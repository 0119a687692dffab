package io.github.redismasterdiscovery;

import java.util.List;
import redis.clients.jedis.HostAndPort;

/**
 * One source of master candidates. Sources only propose: every candidate is proven with
 * {@code ROLE} before use. A source calls its change callback whenever its opinion or health may
 * have changed; the discovery then re-reads {@link #candidates()} and {@link #health()}.
 */
interface Source extends AutoCloseable {

  /** Which kind of source this is. */
  SourceKind kind();

  /** Starts watching; returns at once. */
  void start();

  /** The addresses this source currently proposes, best first; empty when it has none. Never blocks. */
  List<HostAndPort> candidates();

  /** The current health; polled on every evaluation round, so cheap. */
  Health health();

  @Override
  void close();

  /** A status and its explanation. */
  record Health(SourceState.Status status, String detail) {
    static Health up() {
      return new Health(SourceState.Status.UP, "");
    }
  }
}
