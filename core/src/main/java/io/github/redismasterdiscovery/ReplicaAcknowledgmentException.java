package io.github.redismasterdiscovery;

import redis.clients.jedis.exceptions.JedisDataException;

/**
 * A write ran on the master but fewer replicas than asked for acknowledged it within the
 * {@code WAIT} timeout, so a failover now could lose it. Not retried: the write did happen.
 */
public class ReplicaAcknowledgmentException extends JedisDataException {

  private static final long serialVersionUID = 1L;

  private final long acknowledged;
  private final int required;

  ReplicaAcknowledgmentException(long acknowledged, int required, long timeoutMillis) {
    super("write acknowledged by " + acknowledged + " of the " + required + " replicas required within " + timeoutMillis
        + " ms (WAIT); it ran on the master but may be lost on failover");
    this.acknowledged = acknowledged;
    this.required = required;
  }

  /** Replicas that acknowledged. */
  public long acknowledged() {
    return acknowledged;
  }

  /** Replicas required. */
  public int required() {
    return required;
  }
}
