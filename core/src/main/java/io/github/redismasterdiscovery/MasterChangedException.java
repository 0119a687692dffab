package io.github.redismasterdiscovery;

import redis.clients.jedis.exceptions.JedisConnectionException;

/**
 * A command was not sent: it waited at a write fence (Sentinel was promoting a replica) and either
 * the master changed meanwhile, so the connection it was to use belongs to a demoted master, or the
 * promotion was not proven within the pool's {@code maxWait}. Nothing was executed; it is safe to
 * run the command again, and {@link FailoverJedisPool#execute} and {@link FailoverCommandExecutor}
 * do so (on the new master) until their deadline.
 */
public final class MasterChangedException extends JedisConnectionException {

  private static final long serialVersionUID = 1L;

  MasterChangedException(String message) {
    super(message);
  }
}
