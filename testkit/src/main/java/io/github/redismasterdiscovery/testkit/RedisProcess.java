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
import java.util.concurrent.TimeUnit;
import redis.clients.jedis.HostAndPort;

/**
 * One real {@code redis-server} process (a data node or a Sentinel) on a loopback address.
 *
 * <p>Fault handles map to what happens to a pod: {@link #kill()} is {@code kill -9}; {@link #freeze()}
 * is SIGSTOP (sockets stay open and nothing answers, like a hung node or a partition); {@link #stop()}
 * and {@link #start()} keep the address, port and configuration file, which Sentinel may have
 * rewritten in between, just as a restarted pod keeps its volume.
 *
 * <p>Thread-safe: every method is {@code synchronized}.
 */
public final class RedisProcess {

  private static final Duration START_TIMEOUT = Duration.ofSeconds(10);

  private final String name;
  private final HostAndPort address;
  private final Path dir;
  private final boolean sentinel;
  private Process process;
  private boolean frozen;

  RedisProcess(String name, HostAndPort address, Path dir, boolean sentinel, List<String> config) {
    this(name, address, dir, sentinel, config, false);
  }

  /** With {@code tls}, the process listens with TLS only, on its port. */
  RedisProcess(String name, HostAndPort address, Path dir, boolean sentinel, List<String> config, boolean tls) {
    this.name = name;
    this.address = address;
    this.dir = dir;
    this.sentinel = sentinel;
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

  /** The loopback address and port this process listens on; stable across restarts. */
  public HostAndPort address() {
    return address;
  }

  /** Whether this process runs in Sentinel mode. */
  public boolean isSentinel() {
    return sentinel;
  }

  /** The server's own log file, kept after the process ends for diagnosis. */
  public Path logFile() {
    return dir.resolve("redis.log");
  }

  /** The configuration file; Sentinel rewrites it on failover. */
  public Path configFile() {
    return dir.resolve(sentinel ? "sentinel.conf" : "redis.conf");
  }

  /** The operating-system pid of the running process, or -1 when not running. */
  public synchronized long pid() {
    return process != null && process.isAlive() ? process.pid() : -1;
  }

  /** Whether the process is alive (a frozen process is alive). */
  public synchronized boolean isRunning() {
    return process != null && process.isAlive();
  }

  /** Whether the process is stopped with SIGSTOP. */
  public synchronized boolean isFrozen() {
    return frozen && isRunning();
  }

  /**
   * Starts the process and returns once it accepts connections.
   *
   * @throws IllegalStateException when it is already running or does not come up, with its log tail
   */
  public synchronized void start() {
    if (isRunning()) {
      throw new IllegalStateException(name + " is already running (pid " + process.pid() + ")");
    }
    List<String> command = new ArrayList<>(List.of(RedisBinary.locate().toString(), configFile().toString()));
    if (sentinel) {
      command.add("--sentinel");
    }
    try {
      process = new ProcessBuilder(command)
          .directory(dir.toFile())
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("stdout.log").toFile()))
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + name + ": " + command, e);
    }
    frozen = false;
    ProcessReaper.register(process);
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (!accepts()) {
      if (!process.isAlive() || System.nanoTime() > deadline) {
        String why = process.isAlive() ? "did not accept connections within " + START_TIMEOUT : "exited with " + process.exitValue();
        kill();
        throw new IllegalStateException(name + " on " + address + " " + why + "\n" + logTail(30));
      }
      pause(5);
    }
  }

  /** {@code kill -9}: the process dies at once, mid-command, with no shutdown. */
  public synchronized void kill() {
    if (process == null) {
      return;
    }
    if (frozen && process.isAlive()) {
      signal("CONT"); // a stopped process still dies on SIGKILL, but the reaper would see it as a zombie longer
    }
    process.destroyForcibly();
    awaitExit();
  }

  /** Graceful stop (SIGTERM), waiting for the exit; the configuration file is kept for {@link #start()}. */
  public synchronized void stop() {
    if (process == null || !process.isAlive()) {
      return;
    }
    if (frozen) {
      signal("CONT");
    }
    process.destroy();
    awaitExit();
  }

  /** SIGSTOP: the process keeps its sockets but answers nothing until {@link #unfreeze()}. */
  public synchronized void freeze() {
    requireRunning();
    signal("STOP");
    frozen = true;
  }

  /** SIGCONT: the frozen process carries on where it stopped. */
  public synchronized void unfreeze() {
    requireRunning();
    signal("CONT");
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

  private void awaitExit() {
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    frozen = false;
    ProcessReaper.unregister(process);
  }

  private void signal(String signal) {
    try {
      Process kill = new ProcessBuilder("sh", "-c", "kill -" + signal + " " + process.pid()).redirectErrorStream(true).start();
      if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
        throw new IllegalStateException("kill -" + signal + " " + process.pid() + " failed: " + new String(kill.getInputStream().readAllBytes()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run kill -" + signal, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while sending SIG" + signal + " to " + name, e);
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
