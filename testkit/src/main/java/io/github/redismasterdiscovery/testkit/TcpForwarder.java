package io.github.redismasterdiscovery.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import redis.clients.jedis.HostAndPort;

/**
 * A TCP forwarder on its own loopback address: what a load balancer in front of one pod does, for
 * tests of clients outside the cluster. Byte for byte (TLS passes through), one thread pair per
 * connection; counts the connections it carried. {@link #close()} drops every connection, as a
 * removed load balancer would.
 */
public final class TcpForwarder implements AutoCloseable {

  private final ServerSocket server;
  private final HostAndPort address;
  private final HostAndPort target;
  private final AtomicLong connections = new AtomicLong();
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;
  private volatile long delayNanos;

  private TcpForwarder(ServerSocket server, HostAndPort target) {
    this.server = server;
    this.address = new HostAndPort(server.getInetAddress().getHostAddress(), server.getLocalPort());
    this.target = target;
    Thread acceptor = new Thread(this::accept, "rmd-testkit-forward-" + address);
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** Listens on {@code host} (a free port) and forwards every connection to {@code target}. */
  public static TcpForwarder start(String host, HostAndPort target) {
    try {
      ServerSocket server = new ServerSocket();
      server.bind(new InetSocketAddress(InetAddress.getByName(host), 0), 128);
      return new TcpForwarder(server, target);
    } catch (IOException e) {
      throw new IllegalStateException("cannot listen on " + host, e);
    }
  }

  /** Where clients connect. */
  public HostAndPort address() {
    return address;
  }

  /** Where connections go. */
  public HostAndPort target() {
    return target;
  }

  /**
   * Adds {@code delay} before each chunk is passed on, both ways: a slower network path (another
   * zone, say) to this target. {@link Duration#ZERO} removes it.
   */
  public void setDelay(Duration delay) {
    if (delay == null || delay.isNegative()) {
      throw new IllegalArgumentException("delay must be zero or positive, was " + delay);
    }
    this.delayNanos = delay.toNanos();
  }

  /** Connections carried so far. */
  public long connections() {
    return connections.get();
  }

  private void accept() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      connections.incrementAndGet();
      try {
        Socket upstream = new Socket();
        upstream.connect(new InetSocketAddress(target.getHost(), target.getPort()), 1_000);
        open.add(client);
        open.add(upstream);
        pump(client, upstream);
        pump(upstream, client);
      } catch (IOException e) {
        closeQuietly(client); // the target is down: so is the connection, as through a real load balancer
      }
    }
  }

  private void pump(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buffer = new byte[16 * 1024];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        for (int n; (n = in.read(buffer)) >= 0; ) {
          long delay = delayNanos;
          if (delay > 0) {
            LockSupport.parkNanos(delay); // the emulated path's latency, not a wait for a condition
          }
          out.write(buffer, 0, n);
          out.flush();
        }
      } catch (IOException e) {
        // one side went away
      } finally {
        closeQuietly(from);
        closeQuietly(to);
        open.remove(from);
        open.remove(to);
      }
    }, "rmd-testkit-forward-pump");
    t.setDaemon(true);
    t.start();
  }

  @Override
  public void close() {
    closed = true;
    closeQuietly(server);
    open.forEach(TcpForwarder::closeQuietly);
    open.clear();
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception ignored) {
      // already closed
    }
  }

  @Override
  public String toString() {
    return "TcpForwarder{" + address + " -> " + target + ", connections=" + connections + "}";
  }
}
