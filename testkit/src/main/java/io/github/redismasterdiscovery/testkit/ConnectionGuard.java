package io.github.redismasterdiscovery.testkit;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.HostAndPortMapper;
import redis.clients.jedis.JedisClientConfig;

/**
 * Watches every connection a Jedis client configuration opens: installed as its
 * {@link HostAndPortMapper}, it records each target and diverts a forbidden one (say, an address
 * only the cluster can reach) to a closed port, so the attempt fails as it would from outside, and
 * the test can assert that none was made.
 */
public final class ConnectionGuard implements HostAndPortMapper {

  private final Predicate<HostAndPort> forbidden;
  private final HostAndPort closed;
  private final List<HostAndPort> attempts = new CopyOnWriteArrayList<>();
  private final List<HostAndPort> violations = new CopyOnWriteArrayList<>();

  /** A guard that forbids every target {@code forbidden} accepts. */
  public ConnectionGuard(Predicate<HostAndPort> forbidden) {
    this.forbidden = forbidden;
    try (ServerSocket s = new ServerSocket(0)) {
      closed = new HostAndPort("127.0.0.1", s.getLocalPort());
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public HostAndPort getHostAndPort(HostAndPort target) {
    attempts.add(target);
    if (forbidden.test(target)) {
      violations.add(target);
      return closed;
    }
    return target;
  }

  /** {@code config} with this guard in front of every connection it opens. */
  public JedisClientConfig guard(JedisClientConfig config) {
    return DefaultJedisClientConfig.builder().from(config).hostAndPortMapper(this).build();
  }

  /** Every target asked for, in order. */
  public List<HostAndPort> attempts() {
    return List.copyOf(attempts);
  }

  /** The forbidden targets asked for; a correct client makes none. */
  public List<HostAndPort> violations() {
    return List.copyOf(violations);
  }
}
