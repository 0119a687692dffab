package io.github.redismasterdiscovery;

import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.Connection;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.commands.ProtocolCommand;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * A pooled Jedis connection to the master of one discovery generation. It talks only to that
 * master while that master is current, whatever the application does with it (one command per
 * borrow, a connection held for hours, a pipeline, a transaction, a blocking command, a
 * subscription).
 *
 * <ul>
 *   <li>Before each command it asks the {@link Gate}: one volatile read when its generation is the
 *       current one and no write fence holds it. A command on a connection of an older generation is
 *       never sent: the connection is broken and {@link MasterChangedException} says whether anything
 *       sent earlier on it (a pipeline's unread commands) may have run. While a write fence holds its
 *       master the command waits for the verdict.
 *   <li>When the master changes while it is in a read (a blocking command, a subscription, a
 *       pipeline's unread replies), the pool {@linkplain #cut cuts} it: the socket is closed under the
 *       reading thread, which gets a {@link MasterChangedException} rather than waiting forever on a
 *       demoted node.
 *   <li>It counts as broken from the moment its node answers {@code READONLY} (a demoted master),
 *       {@code LOADING} or {@code MASTERDOWN}, and from the moment it carries a subscription: such a
 *       connection is never pooled again, whatever path returns it (Jedis checks {@link #isBroken()}
 *       when a connection is returned). It keeps reading normally; only its fate on return changes.
 *   <li>It counts its commands in flight (sent, reply not yet read), which the pool reports when a
 *       fence goes up, and the commands it sent, so a retrying caller knows whether earlier commands of
 *       the same piece of work may have run.
 * </ul>
 */
final class FollowingConnection extends Connection {

  /** What the pool decides before a command is sent, and hears when the node turns out to be a replica. */
  interface Gate {
    /**
     * Returns when {@code connection} may send; throws {@link MasterChangedException} (after breaking
     * the connection) when its master was replaced, or when a fence did not lift in time.
     */
    void beforeSend(FollowingConnection connection);

    void demoted();
  }

  private final Gate gate;
  private final long generation;
  private final HostAndPort node;
  private volatile boolean demoted;
  private volatile boolean subscribed;
  private volatile String cutReason;
  private volatile int pending; // written by the thread using the connection only
  private long sent; // commands that went out, by the thread using the connection
  private boolean inMulti; // a MULTI was sent and no EXEC or DISCARD yet
  private long sentBeforeMulti; // commands sent before the open MULTI: those queued after it never run without EXEC
  private boolean sending; // inside sendCommand, after the gate
  private boolean validating; // a pool's validation PING: never waits at a fence
  private long firstSendDeadline; // the borrow's deadline, for the first command after a borrow (0: none)

  FollowingConnection(HostAndPort node, JedisClientConfig config, Gate gate, long generation) {
    super(node, config); // connects and runs the handshake (gate still null: never fenced)
    this.node = node;
    this.gate = gate;
    this.generation = generation;
  }

  /** The discovery generation whose master this connection was opened to. */
  long generation() {
    return generation;
  }

  /** The node this connection talks to. */
  HostAndPort node() {
    return node;
  }

  /** Commands sent whose reply has not been read yet. */
  int pending() {
    return pending;
  }

  /** Commands sent so far (by the thread using the connection). */
  long sent() {
    return sent;
  }

  /**
   * Commands sent so far that may have run: all of them, except those queued in a transaction whose
   * {@code EXEC} has not been sent (Redis discards them when the connection closes).
   */
  long sentThatMayHaveRun() {
    return inMulti ? sentBeforeMulti : sent;
  }

  /** A transaction is open on it: MULTI sent, EXEC not yet. */
  boolean inMulti() {
    return inMulti;
  }

  /** It carries (or carried) a subscription. */
  boolean subscribed() {
    return subscribed;
  }

  /** It is waiting for something from its node: a reply, a blocked command, a subscription's messages. */
  boolean busy() {
    return subscribed || pending > 0; // every read waits for a counted command or a subscription
  }

  /** The first command after a borrow waits at a fence no longer than the borrow's own deadline. */
  void shareDeadline(long deadlineNanos) {
    firstSendDeadline = deadlineNanos == 0 ? 1 : deadlineNanos;
  }

  /** The deadline for a wait at a fence: the borrow's, for the first command after it while it has not passed; else {@code orElse}. */
  long fenceDeadline(long orElse) {
    long d = firstSendDeadline;
    firstSendDeadline = 0;
    return d != 0 && d - System.nanoTime() > 0 ? d : orElse;
  }

  boolean validating() {
    return validating;
  }

  /** Runs a pool's validation: its PING never waits at a write fence (it writes nothing). */
  boolean validate(java.util.function.BooleanSupplier ping) {
    validating = true;
    try {
      return ping.getAsBoolean();
    } finally {
      validating = false;
    }
  }

  /**
   * Ends whatever the connection is waiting for because its master was replaced: the socket is
   * closed under the reading thread, which then throws {@link MasterChangedException} with
   * {@code why}. Called from the pool's listener thread.
   */
  void cut(String why) {
    cutReason = why;
    try {
      forceDisconnect();
    } catch (java.io.IOException | RuntimeException ignored) {
      // closing quietly: the reading thread reports it
    }
  }

  @Override
  public void sendCommand(CommandArguments args) {
    Gate g = gate;
    if (g == null) {
      super.sendCommand(args); // the handshake, before the pool owns the connection
      return;
    }
    pending = pending + 1; // before the gate: whoever publishes a new master sees it and cuts this connection
    try {
      g.beforeSend(this);
    } catch (RuntimeException e) {
      pending = pending - 1;
      throw e;
    }
    track(args.getCommand());
    sent++;
    sending = true;
    try {
      super.sendCommand(args);
    } finally {
      sending = false;
    }
  }

  /**
   * Connects once, in the constructor. Jedis reconnects a closed connection on its next command
   * (and on {@code setTimeoutInfinite}); a connection the pool closed at a switch would so reach
   * the old master again, unauthenticated, with a command that passed the gate just before the
   * switch. Once the pool owns it, a closed connection stays closed.
   */
  @Override
  public void connect() {
    if (gate == null || isConnected()) {
      super.connect(); // the constructor's handshake; or a no-op when connected
      return;
    }
    setBroken();
    if (sending) {
      sent--; // counted after its gate, but refused here: it never left
    }
    String why = cutReason;
    int earlier = sending ? pending - 1 : pending; // unanswered commands sent before this one, on the closed socket
    throw new MasterChangedException((why != null ? why : "connection to " + node + " is closed")
        + "; a closed pooled connection is never reopened: borrow another", why != null && earlier > 0 && !inMulti, null);
  }

  private void track(ProtocolCommand command) {
    if (command instanceof Protocol.Command) {
      switch ((Protocol.Command) command) {
        case MULTI:
          inMulti = true;
          sentBeforeMulti = sent;
          break;
        case EXEC:
        case DISCARD:
          inMulti = false;
          break;
        case SUBSCRIBE:
        case PSUBSCRIBE:
        case SSUBSCRIBE:
          subscribed = true; // replies come whenever messages do: never lent for commands again
          break;
        default:
          break;
      }
    }
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
    } catch (JedisConnectionException e) {
      throw cutOr(e);
    } finally {
      int p = pending;
      if (p > 0) {
        pending = p - 1;
      }
    }
  }

  /** Flushing a {@linkplain #cut cut} connection (a pipeline's sync after the switch) says why it is closed. */
  @Override
  protected void flush() {
    try {
      super.flush();
    } catch (JedisConnectionException e) {
      throw cutOr(e);
    }
  }

  /**
   * The failure of a read or flush: when the pool {@linkplain #cut cut} the connection, a
   * {@link MasterChangedException} saying why and whether what was sent may have run (a transaction
   * whose {@code EXEC} never went out did not; a subscription runs nothing); else {@code e} itself.
   */
  private JedisConnectionException cutOr(JedisConnectionException e) {
    String why = cutReason;
    if (why == null) {
      return e;
    }
    if (inMulti) {
      return new MasterChangedException(why + "; the transaction's EXEC was never sent, so nothing of it ran", false, e);
    }
    return new MasterChangedException(subscribed ? why : why + "; what was sent may have run there", !subscribed, e);
  }

  /**
   * Jedis restores the timeout in a {@code finally} after a blocking command or a subscription; on a
   * connection that was {@linkplain #cut cut} that would throw and hide the {@link MasterChangedException}
   * that says what happened.
   */
  @Override
  public void rollbackTimeout() {
    if (cutReason == null) {
      super.rollbackTimeout();
    }
  }

  @Override
  public boolean isBroken() {
    return demoted || subscribed || cutReason != null || super.isBroken();
  }

  /** {@code READONLY You can't write against a read only replica.}: nothing was executed. */
  static boolean isReadOnly(JedisDataException e) {
    String m = e.getMessage();
    return m != null && m.startsWith("READONLY");
  }
}
