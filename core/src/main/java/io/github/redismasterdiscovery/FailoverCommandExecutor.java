package io.github.redismasterdiscovery;

import java.util.Objects;
import redis.clients.jedis.BuilderFactory;
import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.CommandObject;
import redis.clients.jedis.Connection;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.executors.CommandExecutor;

/**
 * An opt-in Jedis {@link CommandExecutor} over a {@link FailoverConnectionProvider} that retries
 * commands caught in a failover, exactly as {@link RetryPolicy} describes: it sends the request
 * and reads the reply as separate steps, so it knows whether a failure happened before the
 * command reached Redis (retried) or after (retried only if idempotent or opted in).
 *
 * <p>Closing the executor does not close the provider.
 */
public final class FailoverCommandExecutor implements CommandExecutor {

  private final FailoverConnectionProvider provider;
  private final Retrier retrier;

  /** An executor with {@link RetryPolicy#defaults()}. */
  public FailoverCommandExecutor(FailoverConnectionProvider provider) {
    this(provider, RetryPolicy.defaults());
  }

  /** An executor with this policy. */
  public FailoverCommandExecutor(FailoverConnectionProvider provider, RetryPolicy policy) {
    this.provider = Objects.requireNonNull(provider, "provider");
    this.retrier = new Retrier(provider.discovery(), Objects.requireNonNull(policy, "policy"));
  }

  @Override
  public <T> T executeCommand(CommandObject<T> command) {
    CommandArguments args = command.getArguments();
    RetryPolicy policy = retrier.policy();
    boolean waitAfter = policy.waitReplicas() > 0 && !Commands.isReadOnly(args);
    return retrier.run(args, () -> {
      Connection connection;
      try {
        connection = provider.getConnection(args); // a replica for reads when the provider has replica reads on
      } catch (JedisConnectionException e) {
        throw new Retrier.AttemptFailed(Retrier.Failure.NOT_EXECUTED, e);
      }
      try (connection) { // a connection that got READONLY is already marked broken, so close() destroys it
        try {
          connection.sendCommand(args);
        } catch (JedisConnectionException e) {
          throw new Retrier.AttemptFailed(Retrier.Failure.NOT_EXECUTED, e); // the request never got through whole
        }
        T result;
        if (args.isBlocking()) {
          connection.setTimeoutInfinite();
        }
        try {
          result = command.getBuilder().build(connection.getOne());
        } finally {
          if (args.isBlocking()) {
            connection.rollbackTimeout();
          }
        }
        if (waitAfter) {
          long acked = connection.executeCommand(new CommandObject<>(new CommandArguments(Protocol.Command.WAIT)
              .add(policy.waitReplicas()).add(policy.waitTimeout().toMillis()), BuilderFactory.LONG));
          if (acked < policy.waitReplicas()) {
            throw new ReplicaAcknowledgmentException(acked, policy.waitReplicas(), policy.waitTimeout().toMillis());
          }
        }
        return result;
      } catch (JedisDataException | JedisConnectionException e) {
        throw Retrier.inFlight(e); // a connection refused for its node's state (READONLY, LOADING, MASTERDOWN) is already marked broken
      }
    });
  }

  /** No-op: the provider owns the connections. */
  @Override
  public void close() {}
}
