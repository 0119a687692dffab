package io.github.redismasterdiscovery;

import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.LoadingCache;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.Security;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.HostAndPort;

/**
 * A DNS name such as {@code redis-master.<ns>.svc.cluster.local}, re-resolved at most every TTL.
 *
 * <p>Resolution runs on the discovery's I/O executor (Caffeine refresh-after-write), never on the
 * caller: {@link #candidates()} returns the last answer at once. The JVM caches answers itself
 * ({@code networkaddress.cache.ttl}, 30 s by default) and no resolver that bypasses that cache comes
 * with the JDK: when the JVM's cache outlives {@code dnsTtl}, the discovery says so once at build
 * time (WARN) and in this source's state, naming the setting that fixes it.
 */
final class DnsSource implements Source {

  private static final Logger log = LoggerFactory.getLogger(DnsSource.class);

  private final String host;
  private final int port;
  private final Events events;
  private final LoadingCache<String, List<HostAndPort>> resolved;
  private final String jvmCacheNote;
  private volatile String error;
  /** Names (with their dnsTtl) already warned about, so the JVM cache warning comes once per JVM. */
  private static final java.util.Set<String> WARNED = java.util.concurrent.ConcurrentHashMap.newKeySet();

  private volatile boolean answered;
  private volatile List<HostAndPort> last = List.of();

  DnsSource(String host, int port, Duration ttl, Executor io, Events events) {
    this.host = host;
    this.port = port;
    this.events = events;
    this.resolved = Caffeine.newBuilder().refreshAfterWrite(ttl).executor(io).build(this::resolve);
    long jvmTtl = jvmPositiveCacheSeconds();
    if (jvmTtl < 0 || jvmTtl > Math.max(1, ttl.toSeconds())) {
      jvmCacheNote = "the JVM caches DNS answers for " + (jvmTtl < 0 ? "ever" : jvmTtl + " s") + ", longer than dnsTtl " + ttl.toMillis()
          + " ms: start the JVM with -Dsun.net.inetaddr.ttl=" + Math.max(1, ttl.toSeconds())
          + " (or set the security property networkaddress.cache.ttl) so a changed name is followed in time";
      if (WARNED.add(host + "/" + ttl)) { // once per JVM: every build() of the same configuration would say it again
        log.warn("dnsName {}: {}", host, jvmCacheNote);
      }
    } else {
      jvmCacheNote = null;
    }
  }

  /**
   * How long this JVM caches successful lookups, in seconds (-1: forever), as
   * {@code InetAddressCachePolicy} reads it: the security property {@code networkaddress.cache.ttl},
   * else the system property {@code sun.net.inetaddr.ttl}, else 30.
   */
  static long jvmPositiveCacheSeconds() {
    for (String value : new String[] {Security.getProperty("networkaddress.cache.ttl"), System.getProperty("sun.net.inetaddr.ttl")}) {
      if (value != null) {
        try {
          return Long.parseLong(value.trim());
        } catch (NumberFormatException ignored) {
          // InetAddressCachePolicy ignores it too
        }
      }
    }
    return 30;
  }

  @Override
  public SourceKind kind() {
    return SourceKind.DNS;
  }

  @Override
  public void start() {
    resolved.refresh(host);
  }

  private List<HostAndPort> resolve(String name) {
    List<HostAndPort> out = new ArrayList<>();
    try {
      for (InetAddress a : InetAddress.getAllByName(name)) {
        out.add(new HostAndPort(a.getHostAddress(), port));
      }
      error = null;
    } catch (UnknownHostException e) {
      error = "cannot resolve '" + name + "' (" + e.getMessage() + "): check dnsName";
    } catch (RuntimeException e) {
      error = "resolving '" + name + "' failed: " + e;
    }
    boolean first = !answered;
    answered = true;
    List<HostAndPort> before = last;
    last = out;
    for (HostAndPort a : out) {
      if (!before.contains(a)) {
        events.proposed(a, SourceKind.DNS, name + " resolves to it");
      }
    }
    if (first || !out.equals(before)) {
      events.changed(); // the same answer again is no news: the verify tick re-checks the master anyway
    }
    return out;
  }

  @Override
  public List<HostAndPort> candidates() {
    List<HostAndPort> cached = resolved.getIfPresent(host); // also triggers the refresh once the TTL has passed
    return cached == null ? List.of() : cached;
  }

  @Override
  public Health health() {
    String e = error;
    if (e != null) {
      return new Health(SourceState.Status.DOWN, e);
    }
    if (!answered) {
      return new Health(SourceState.Status.STARTING, "resolving " + host);
    }
    String answer = host + " resolves to " + last;
    return Health.up(jvmCacheNote == null ? answer : answer + "; " + jvmCacheNote);
  }

  @Override
  public void close() {
    resolved.invalidateAll();
  }
}
