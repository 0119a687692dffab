package io.github.redismasterdiscovery;

import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.LoadingCache;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import redis.clients.jedis.HostAndPort;

/**
 * A DNS name such as {@code redis-master.<ns>.svc.cluster.local}, re-resolved at most every TTL.
 *
 * <p>Resolution runs on the discovery's I/O executor (Caffeine refresh-after-write), never on the
 * caller: {@link #candidates()} returns the last answer at once. The JVM's own DNS cache
 * ({@code networkaddress.cache.ttl}) still applies underneath.
 */
final class DnsSource implements Source {

  private final String host;
  private final int port;
  private final Runnable onChange;
  private final LoadingCache<String, List<HostAndPort>> resolved;
  private volatile String error;
  private volatile boolean answered;

  DnsSource(String host, int port, Duration ttl, Executor io, Runnable onChange) {
    this.host = host;
    this.port = port;
    this.onChange = onChange;
    this.resolved = Caffeine.newBuilder().refreshAfterWrite(ttl).executor(io).build(this::resolve);
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
    answered = true;
    onChange.run();
    return out;
  }

  @Override
  public List<HostAndPort> candidates() {
    List<HostAndPort> last = resolved.getIfPresent(host); // also triggers the refresh once the TTL has passed
    return last == null ? List.of() : last;
  }

  @Override
  public Health health() {
    String e = error;
    if (e != null) {
      return new Health(SourceState.Status.DOWN, e);
    }
    return answered ? Health.up() : new Health(SourceState.Status.STARTING, "resolving " + host);
  }

  @Override
  public void close() {
    resolved.invalidateAll();
  }
}
