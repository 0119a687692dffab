package io.github.redismasterdiscovery.spring;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Start-up failures caused by a Redis master discovery setting: which property, why, and what to do. */
class RedisMasterDiscoveryFailureAnalyzer extends AbstractFailureAnalyzer<RedisMasterDiscoveryConfigurationException> {

  @Override
  protected FailureAnalysis analyze(Throwable rootFailure, RedisMasterDiscoveryConfigurationException cause) {
    return new FailureAnalysis("Redis master discovery cannot start: property '" + cause.getProperty() + "': " + cause.getReason(),
        cause.getAction(), cause);
  }
}
