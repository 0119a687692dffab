package io.github.redismasterdiscovery.lettuce;

import io.lettuce.core.RedisConnectionException;

/**
 * A command could not complete on the master it was sent to, because the master changed under it:
 * it was sent to the old master and no reply had come when the connection was closed at the switch
 * (or when the old master went away). {@link #mayHaveRun()} says whether it may have run there.
 *
 * <p>Commands that were not sent yet never fail this way: they are held and sent to the new master.
 * Read-only commands in flight are sent again on the new master (Lettuce's own at-least-once replay)
 * instead of failing. What fails are writes, and blocking commands, that may or may not have run on
 * the old master: retry them when they are idempotent.
 *
 * <p>Spring Data Redis translates it, like every {@link RedisConnectionException}, to a
 * {@code RedisConnectionFailureException}.
 */
public final class MasterSwitchedException extends RedisConnectionException {

  private static final long serialVersionUID = 1L;

  private final boolean mayHaveRun;

  MasterSwitchedException(String message, boolean mayHaveRun) {
    super(message);
    this.mayHaveRun = mayHaveRun;
  }

  /**
   * Whether the command may have run on the old master: true for a command that was sent and not
   * answered; false for one queued in a transaction whose {@code EXEC} was never sent (Redis discards
   * it when the connection closes), or one that was never sent.
   */
  public boolean mayHaveRun() {
    return mayHaveRun;
  }
}
