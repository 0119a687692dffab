package io.github.redismasterdiscovery.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Finds a {@code redis-server} binary for the testkit.
 *
 * <p>Order: the {@code REDIS_SERVER} environment variable (or system property {@code redis.server}),
 * then {@code redis-server} on {@code PATH}, then the Linux x86-64 binary shipped inside the
 * {@code com.github.codemonstur:embedded-redis} jar (Redis 6.2), extracted once per JVM.
 */
public final class RedisBinary {

  private static final String EMBEDDED_LINUX_AMD64 = "/redis-server-6.2.6-v5-linux-amd64";
  private static volatile Path located;

  private RedisBinary() {}

  /**
   * Returns the {@code redis-server} binary to run.
   *
   * @throws IllegalStateException when none can be found, naming what was tried and the fix
   */
  public static Path locate() {
    Path path = located;
    if (path == null) {
      synchronized (RedisBinary.class) {
        path = located;
        if (path == null) {
          path = find();
          located = path;
        }
      }
    }
    return path;
  }

  /** Returns the version the binary reports, such as {@code 7.0.15}. */
  public static String version() {
    Path binary = locate();
    try {
      Process p = new ProcessBuilder(binary.toString(), "--version").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      p.waitFor(10, TimeUnit.SECONDS);
      int at = out.indexOf("v=");
      return at < 0 ? out.trim() : out.substring(at + 2).split("\\s")[0];
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + binary + " --version", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while asking " + binary + " for its version", e);
    }
  }

  /**
   * Whether the binary serves TLS (built with {@code BUILD_TLS}; Debian's is): starts one with a
   * TLS-only port and sees if it accepts connections.
   */
  public static synchronized boolean supportsTls() {
    if (tls == null) {
      try {
        Path dir = Files.createTempDirectory("rmd-tls-probe");
        TlsMaterial material = TlsMaterial.generate(dir.resolve("tls"));
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
          port = s.getLocalPort();
        }
        List<String> config = new java.util.ArrayList<>(List.of("save \"\""));
        config.addAll(material.serverConfig());
        RedisProcess probe = new RedisProcess("tls-probe", new redis.clients.jedis.HostAndPort("127.0.0.1", port), dir.resolve("node"), false, config, true, LocalProcesses.INSTANCE);
        try {
          probe.start();
          tls = true;
        } catch (IllegalStateException e) {
          tls = false;
        } finally {
          probe.kill();
          RedisHaTopology.deleteRecursively(dir);
        }
      } catch (IOException e) {
        tls = false;
      }
    }
    return tls;
  }

  private static Boolean tls;

  private static Path find() {
    String configured = Optional.ofNullable(System.getProperty("redis.server")).orElse(System.getenv("REDIS_SERVER"));
    if (configured != null && !configured.isBlank()) {
      Path p = Path.of(configured);
      if (!Files.isExecutable(p)) {
        throw new IllegalStateException("REDIS_SERVER=" + configured + " is not an executable file; point it at a redis-server binary or unset it");
      }
      return p;
    }
    String pathEnv = System.getenv("PATH");
    if (pathEnv != null) {
      for (String dir : pathEnv.split(java.io.File.pathSeparator)) {
        if (dir.isEmpty()) {
          continue;
        }
        Path candidate = Path.of(dir, "redis-server");
        if (Files.isExecutable(candidate)) {
          return candidate;
        }
      }
    }
    return extractEmbedded();
  }

  private static Path extractEmbedded() {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    boolean linuxAmd64 = os.contains("linux") && (arch.equals("amd64") || arch.equals("x86_64"));
    try (InputStream in = linuxAmd64 ? RedisBinary.class.getResourceAsStream(EMBEDDED_LINUX_AMD64) : null) {
      if (in == null) {
        throw new IllegalStateException("no redis-server found: set REDIS_SERVER to a redis-server binary, put redis-server on PATH "
            + "(Debian: apt-get install redis-server), or run on Linux x86-64 with com.github.codemonstur:embedded-redis on the classpath"
            + " (os=" + os + ", arch=" + arch + ")");
      }
      Path dir = Files.createTempDirectory("rmd-redis-bin");
      Path target = dir.resolve("redis-server");
      Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
      if (!target.toFile().setExecutable(true)) {
        throw new IllegalStateException("cannot make " + target + " executable");
      }
      dir.toFile().deleteOnExit();
      target.toFile().deleteOnExit();
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot extract the embedded redis-server", e);
    }
  }
}
