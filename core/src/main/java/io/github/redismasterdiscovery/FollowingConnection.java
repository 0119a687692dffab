package io.github.redismasterdiscovery;

import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.Connection;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * A pooled Jedis connection to the master of one discovery generation.
 *
 * <ul>
 *   <li>It counts as broken from the moment its node answers {@code READONLY}: the node is a
 *       replica now (a demoted master), so the connection must never be pooled again, whatever path
 *       returns it (the application's {@code close()}, {@code JedisPool}'s own error path, a retrying
 *       executor). Jedis checks {@link #isBroken()} when a connection is returned, so marking it here,
 *       as the reply is read, is the only place early enough on every path. It keeps reading normally
 *       (a pipeline gets its remaining replies); only its fate on return changes.
 *   <li>Before each command it asks the {@link Gate}: while a write fence holds its generation's
 *       master, the command waits; if the master changed meanwhile, the command is never sent
 *       ({@link MasterChangedException}, safe to retry).
 *   <li>It counts its commands in flight (sent, reply not yet read), which the pool reports when a
 *       fence goes up.
 * </ul>
 */
final class FollowingConnection extends Connection {

  /** What the pool decides before a command is sent, and hears when the node turns out to be a replica. */
  interface Gate {
    /** Returns when {@code connection} may send; throws {@link MasterChangedException} when its master was replaced meanwhile. */
    void beforeSend(FollowingConnection connection);

    void demoted();
  }

  private final Gate gate;
  private final long generation;
  private volatile boolean demoted;
  private volatile int pending; // written by the thread using the connection only

  FollowingConnection(HostAndPort node, JedisClientConfig config, Gate gate, long generation) {
    super(node, config); // connects and runs the handshake (gate still null: never fenced)
    this.gate = gate;
    this.generation = generation;
  }

  /** The discovery generation whose master this connection was opened to. */
  long generation() {
    return generation;
  }

  /** Commands sent whose reply has not been read yet. */
  int pending() {
    return pending;
  }

  @Override
  public void sendCommand(CommandArguments args) {
    Gate g = gate;
    if (g != null) {
      g.beforeSend(this);
      pending = pending + 1;
    }
    super.sendCommand(args);
  }

  @Override
  protected Object readProtocolWithCheckingBroken() {
    try {
      return super.readProtocolWithCheckingBroken();
    } catch (JedisDataException e) {
      if (!demoted && isReadOnly(e)) {
        demoted = true;
        if (gate != null) {
          gate.demoted();
        }
      } else if (Retrier.refusedUnrun(e)) {
        setBroken(); // LOADING, MASTERDOWN: the node is not serving; never pooled again
      }
      throw e;
    } finally {
      int p = pending;
      if (p > 0) {
        pending = p - 1;
      }
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
