package io.github.redismasterdiscovery;

import redis.clients.jedis.exceptions.JedisConnectionException;

/**
 * A command could not go to the master it was meant for, because the master changed (or a
 * failover was under way):
 *
 * <ul>
 *   <li>it was about to be sent on a connection to a master that has been replaced (a connection held
 *       across a failover, a pipeline or transaction spanning it), or it waited at a write fence
 *       (Sentinel was promoting a replica) and the master changed, or the promotion was not proven
 *       within the pool's {@code maxWait}: the command itself was not sent;
 *   <li>or it was waiting for a reply (a blocking command such as {@code BLPOP}, a subscription, a
 *       pipeline's unread replies) on the old master when the new one was published, and the
 *       connection was closed under it so that it does not wait on a demoted node forever.
 * </ul>
 *
 * {@link #mayHaveRun()} says whether anything sent on that connection and not yet answered may
 * have run on the old master; when false, running the work again on the new master is safe, and
 * {@link FailoverJedisPool#execute} and {@link FailoverCommandExecutor} do so until their deadline.
 * The connection is broken either way and never pooled again.
 */
public final class MasterChangedException extends JedisConnectionException {

  private static final long serialVersionUID = 1L;

  private final boolean mayHaveRun;

  MasterChangedException(String message) {
    this(message, false, null);
  }

  MasterChangedException(String message, boolean mayHaveRun, Throwable cause) {
    super(message, cause);
    this.mayHaveRun = mayHaveRun;
  }

  /**
   * Whether commands sent on the connection and not yet answered (the one that was waiting, earlier
   * commands of a pipeline) may have run on the old master. False when nothing was sent, or when
   * what was sent is a transaction whose {@code EXEC} never went out (Redis discards it when the
   * connection closes).
   */
  public boolean mayHaveRun() {
    return mayHaveRun;
  }
}
