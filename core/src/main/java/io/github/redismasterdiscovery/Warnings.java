package io.github.redismasterdiscovery;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import org.slf4j.Logger;

/** WARN at most once per key and period, so a repeating fault (a bad pod, a garbage reply) cannot flood the log. */
final class Warnings {

  private final Cache<String, Boolean> recent;

  Warnings(Duration period) {
    recent = Caffeine.newBuilder().expireAfterWrite(period).maximumSize(1_000).build();
  }

  void warn(Logger log, String key, String message, Object... args) {
    if (recent.asMap().putIfAbsent(key, Boolean.TRUE) == null) {
      log.warn(message, args);
    } else if (log.isDebugEnabled()) {
      log.debug(message, args);
    }
  }
}
