package io.github.redismasterdiscovery;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
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
  private final transient Map<SourceKind, String> configurationErrors;

  /** Creates the exception for {@code snapshot}, the state at the time of giving up. */
  public MasterUnavailableException(String message, MasterSnapshot snapshot) {
    this(message, snapshot, Map.of());
  }

  MasterUnavailableException(String message, MasterSnapshot snapshot, Map<SourceKind, String> configurationErrors) {
    super(message + ": " + snapshot.describe());
    this.snapshot = snapshot;
    this.configurationErrors = Collections.unmodifiableMap(new LinkedHashMap<>(configurationErrors));
  }

  /**
   * Why the wait ended early: every way to a master was refused for a configuration error that no
   * retry cures (wrong or unexpected credentials, an unknown Sentinel master set, RBAC 403), by
   * source ({@link SourceKind#NODE_PROBE}: the Redis nodes' own refusals), each naming the cause and
   * the fix; empty when the wait simply timed out (and after deserialization).
   */
  public Map<SourceKind, String> configurationErrors() {
    return configurationErrors == null ? Map.of() : configurationErrors;
  }

  /** The discovery state when the wait ended (may be null after deserialization). */
  public MasterSnapshot snapshot() {
    return snapshot;
  }
}
