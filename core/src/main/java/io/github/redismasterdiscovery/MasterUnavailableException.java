package io.github.redismasterdiscovery;

import redis.clients.jedis.exceptions.JedisConnectionException;

/**
 * No verified Redis master within the allowed wait. The message names the last known master and
 * each source's state, so the cause (RBAC, Sentinel down, wrong master-set name, ...) is visible.
 *
 * <p>Extends {@link JedisConnectionException} so code that already handles Jedis connection
 * failures handles this too.
 */
public class MasterUnavailableException extends JedisConnectionException {

  private static final long serialVersionUID = 1L;

  private final transient MasterSnapshot snapshot;

  /** Creates the exception for {@code snapshot}, the state at the time of giving up. */
  public MasterUnavailableException(String message, MasterSnapshot snapshot) {
    super(message + ": " + snapshot.describe());
    this.snapshot = snapshot;
  }

  /** The discovery state when the wait ended (may be null after deserialization). */
  public MasterSnapshot snapshot() {
    return snapshot;
  }
}
