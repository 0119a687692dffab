package io.github.redismasterdiscovery;

import redis.clients.jedis.Connection;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * A Jedis connection that counts as broken from the moment its node answers {@code READONLY}: the
 * node is a replica now (a demoted master), so the connection must never be pooled again, whatever
 * path returns it (the application's {@code close()}, {@code JedisPool}'s own error path, a
 * retrying executor). Jedis checks {@link #isBroken()} when a connection is returned, so marking it
 * here, as the reply is read, is the only place that is early enough on every path.
 *
 * <p>The connection keeps reading normally (a pipeline gets its remaining replies); only its fate on
 * return changes. {@code onDemoted} runs once, on the reading thread: it asks the discovery to
 * re-check at once.
 */
final class FollowingConnection extends Connection {

  private final Runnable onDemoted;
  private volatile boolean demoted;

  FollowingConnection(HostAndPort node, JedisClientConfig config, Runnable onDemoted) {
    super(node, config); // connects and runs the handshake
    this.onDemoted = onDemoted;
  }

  @Override
  protected Object readProtocolWithCheckingBroken() {
    try {
      return super.readProtocolWithCheckingBroken();
    } catch (JedisDataException e) {
      if (!demoted && isReadOnly(e)) {
        demoted = true;
        if (onDemoted != null) { // null only while the constructor's handshake runs, which never writes
          onDemoted.run();
        }
      }
      throw e;
    }
  }

  @Override
  public boolean isBroken() {
    return demoted || super.isBroken();
  }

  /** {@code READONLY You can't write against a read only replica.}: nothing was executed. */
  static boolean isReadOnly(JedisDataException e) {
    String m = e.getMessage();
    return m != null && m.startsWith("READONLY");
  }
}
