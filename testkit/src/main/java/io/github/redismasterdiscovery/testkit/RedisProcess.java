package io.github.redismasterdiscovery.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import redis.clients.jedis.HostAndPort;

/**
 * One real {@code redis-server} (a data node or a Sentinel) on a loopback address: a local process,
 * or a container on the host's network when the topology was built with {@link
 * RedisHaTopology.Builder#containers(String)}.
 *
 * <p>Fault handles map to what happens to a pod: {@link #kill()} is {@code kill -9} ({@code docker
 * kill}); {@link #freeze()} is SIGSTOP ({@code docker pause}: sockets stay open and nothing answers,
 * like a hung node or a partition); {@link #stop()} and {@link #start()} keep the address, port and
 * configuration file, which Sentinel may have rewritten in between, just as a restarted pod keeps its
 * volume (a container is started anew on the same folder).
 *
 * <p>Thread-safe: every method is {@code synchronized}.
 */
public final class RedisProcess {

  private static final Duration START_TIMEOUT = Duration.ofSeconds(10);

  private final String name;
  private final HostAndPort address;
  private final Path dir;
  private final boolean sentinel;
  private final NodeRuntime runtime;
  private NodeRuntime.Running process;
  private boolean frozen;

  RedisProcess(String name, HostAndPort address, Path dir, boolean sentinel, List<String> config) {
    this(name, address, dir, sentinel, config, false, LocalProcesses.INSTANCE);
  }

  /** With {@code tls}, the server listens with TLS only, on its port. */
  RedisProcess(String name, HostAndPort address, Path dir, boolean sentinel, List<String> config, boolean tls, NodeRuntime runtime) {
    this.name = name;
    this.address = address;
    this.dir = dir;
    this.sentinel = sentinel;
    this.runtime = runtime;
    List<String> lines = new ArrayList<>();
    lines.add("bind " + address.getHost());
    if (tls) {
      lines.add("port 0");
      lines.add("tls-port " + address.getPort());
    } else {
      lines.add("port " + address.getPort());
    }
    lines.add("dir " + dir);
    lines.add("daemonize no");
    lines.add("logfile " + logFile());
    lines.addAll(config);
    try {
      Files.createDirectories(dir);
      Files.write(configFile(), lines, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + configFile(), e);
    }
  }

  /** The name used in logs, for example {@code node-0} or {@code sentinel-2}. */
  public String name() {
    return name;
  }

  /** The loopback address and port this server listens on; stable across restarts. */
  public HostAndPort address() {
    return address;
  }

  /** Whether this server runs in Sentinel mode. */
  public boolean isSentinel() {
    return sentinel;
  }

  /** Whether it runs in a container rather than as a child process of this JVM. */
  public boolean isContainer() {
    return runtime instanceof Containers;
  }

  /** The server's own log file, kept after the server ends for diagnosis (on the host, for containers too). */
  public Path logFile() {
    return dir.resolve("redis.log");
  }

  /** The configuration file; Sentinel rewrites it on failover. */
  public Path configFile() {
    return dir.resolve(sentinel ? "sentinel.conf" : "redis.conf");
  }

  /** The operating-system pid of the running server (as the host sees it), or -1 when not running. */
  public synchronized long pid() {
    return process != null && process.isAlive() ? process.pid() : -1;
  }

  /** Whether the server is alive (a frozen one is alive). */
  public synchronized boolean isRunning() {
    return process != null && process.isAlive();
  }

  /** Whether the server is frozen (SIGSTOP, or a paused container). */
  public synchronized boolean isFrozen() {
    return frozen && isRunning();
  }

  /**
   * Starts the server and returns once it accepts connections.
   *
   * @throws IllegalStateException when it is already running or does not come up, with its log tail
   */
  public synchronized void start() {
    if (isRunning()) {
      throw new IllegalStateException(name + " is already running (pid " + process.pid() + ")");
    }
    try {
      process = runtime.start(name, dir.getParent(), dir, configFile(), sentinel);
    } catch (RuntimeException e) {
      throw new IllegalStateException(name + " on " + address + " (" + runtime + ") did not start: " + e.getMessage() + "\n" + logTail(30), e);
    }
    frozen = false;
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (!accepts()) {
      if (!process.isAlive() || System.nanoTime() > deadline) {
        String why = process.isAlive() ? "did not accept connections within " + START_TIMEOUT : process.exitDescription();
        kill();
        throw new IllegalStateException(name + " on " + address + " (" + runtime + ") " + why + "\n" + logTail(30));
      }
      pause(5);
    }
  }

  /** {@code kill -9}: the server dies at once, mid-command, with no shutdown. */
  public synchronized void kill() {
    if (process == null) {
      return;
    }
    if (frozen && process.isAlive()) {
      process.unfreeze(); // a stopped process still dies on SIGKILL, but the reaper would see it as a zombie longer
    }
    process.kill();
    frozen = false;
  }

  /** Graceful stop (SIGTERM), waiting for the exit; the configuration file is kept for {@link #start()}. */
  public synchronized void stop() {
    if (process == null || !process.isAlive()) {
      return;
    }
    if (frozen) {
      process.unfreeze();
    }
    process.stop();
    frozen = false;
  }

  /** SIGSTOP: the server keeps its sockets but answers nothing until {@link #unfreeze()}. */
  public synchronized void freeze() {
    requireRunning();
    process.freeze();
    frozen = true;
  }

  /** SIGCONT: the frozen server carries on where it stopped. */
  public synchronized void unfreeze() {
    requireRunning();
    process.unfreeze();
    frozen = false;
  }

  /** The last {@code lines} lines of the server log (and of its standard output), for failure messages. */
  public String logTail(int lines) {
    StringBuilder out = new StringBuilder("--- ").append(name).append(' ').append(address).append(" log tail ---\n");
    for (Path file : List.of(logFile(), dir.resolve("stdout.log"))) {
      try {
        if (Files.exists(file)) {
          List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
          all.subList(Math.max(0, all.size() - lines), all.size()).forEach(l -> out.append(l).append('\n'));
        }
      } catch (IOException | UncheckedIOException e) {
        out.append("(cannot read ").append(file).append(": ").append(e).append(")\n");
      }
    }
    return out.toString();
  }

  @Override
  public String toString() {
    return name + "@" + address;
  }

  private void requireRunning() {
    if (!isRunning()) {
      throw new IllegalStateException(name + " is not running");
    }
  }

  private boolean accepts() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(address.getHost(), address.getPort()), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static void pause(long millis) {
    try {
      Thread.sleep(millis); // polling a child process's port while it boots; there is no event to wait on
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for redis-server to start", e);
    }
  }
}
