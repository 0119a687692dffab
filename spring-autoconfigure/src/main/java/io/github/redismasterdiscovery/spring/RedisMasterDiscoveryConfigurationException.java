package io.github.redismasterdiscovery.spring;

/**
 * A {@code redis-master-discovery.*} (or {@code spring.data.redis.*}) setting the library cannot work
 * with; {@link RedisMasterDiscoveryFailureAnalyzer} turns it into a start-up report naming the
 * property and the fix. Never carries a secret: reasons name settings, not their values.
 */
public class RedisMasterDiscoveryConfigurationException extends IllegalStateException {

  private static final long serialVersionUID = 1L;

  private final String property;
  private final String reason;
  private final String action;

  public RedisMasterDiscoveryConfigurationException(String property, String reason, String action) {
    super(property + ": " + reason);
    this.property = property;
    this.reason = reason;
    this.action = action;
  }

  /** The property to fix, such as {@code redis-master-discovery.sentinel.master-name}. */
  public String getProperty() {
    return property;
  }

  /** Why it cannot be used. */
  public String getReason() {
    return reason;
  }

  /** What to do about it. */
  public String getAction() {
    return action;
  }
}
