package io.github.redismasterdiscovery.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.redismasterdiscovery.examples.TryItJedisPool;
import io.github.redismasterdiscovery.examples.TryItPlainJava;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

/**
 * README's "Try it on your laptop", as a reader follows it: {@code examples/local/redis.sh start}
 * starts a master, a replica and three Sentinels; each program, printed in the README exactly as its
 * file in examples/, runs as its own JVM and counts hits; {@code redis.sh failover} fails the master
 * over; the program carries on, on the new master.
 */
class TryItLocallyIT {

  private static final Path ROOT = Path.of(System.getProperty("rmd.root", "."));
  private static final Pattern HITS = Pattern.compile("^\\d\\d:\\d\\d(:\\d\\d)? hits (\\d+) on (\\S+)$");

  @ParameterizedTest
  @ValueSource(classes = {TryItPlainJava.class, TryItJedisPool.class})
  void theReadmesProgramKeepsCountingThroughAFailover(Class<?> program) throws Exception {
    String file = Files.readString(ROOT.resolve("examples/src/main/java/" + program.getName().replace('.', '/') + ".java"));
    String shown = file.replaceFirst("^package [^;]+;\\n\\n", "");
    assertThat(Files.readString(ROOT.resolve("README.md"))).as("README shows %s as it is in examples/", program.getSimpleName())
        .contains("```java\n" + shown + "```");

    int port = freePorts(2);
    int sentinelPort = freePorts(3);
    Path dir = Files.createTempDirectory("rmd-try-it");
    Map<String, String> env = Map.of("RMD_REDIS_PORT", String.valueOf(port), "RMD_SENTINEL_PORT", String.valueOf(sentinelPort),
        "RMD_LOCAL_DIR", dir.toString());
    Process app = null;
    try {
      assertThat(script("start", env)).contains("master 127.0.0.1:" + port);
      HostAndPort sentinel = new HostAndPort("127.0.0.1", sentinelPort);
      // A failover needs the Sentinels to know the replica, and each other.
      await().atMost(Duration.ofSeconds(20)).until(() -> {
        try (Jedis s = new Jedis(sentinel)) {
          return s.sentinelReplicas("mymaster").size() == 1 && s.sentinelSentinels("mymaster").size() == 2;
        }
      });

      List<String> sentinels = List.of("127.0.0.1:" + sentinelPort, "127.0.0.1:" + (sentinelPort + 1), "127.0.0.1:" + (sentinelPort + 2));
      List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-cp", System.getProperty("java.class.path"), program.getName()));
      command.addAll(sentinels);
      app = new ProcessBuilder(command).redirectErrorStream(true).start();
      List<String> output = new CopyOnWriteArrayList<>();
      Process started = app;
      Thread reader = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(started.getInputStream(), StandardCharsets.UTF_8))) {
          for (String line = r.readLine(); line != null; line = r.readLine()) {
            output.add(line);
          }
        } catch (IOException e) {
          // the process ended
        }
      }, "try-it-output");
      reader.setDaemon(true);
      reader.start();

      String master = "127.0.0.1:" + port;
      String replica = "127.0.0.1:" + (port + 1);
      await().atMost(Duration.ofSeconds(20)).until(() -> hits(output, master).size() >= 2);
      assertThat(script("failover", env)).contains("OK");
      await().atMost(Duration.ofSeconds(20)).until(() -> hits(output, replica).size() >= 3);

      assertThat(app.isAlive()).as("still counting:%n%s", String.join("\n", output)).isTrue();
      List<Long> before = hits(output, master);
      List<Long> after = hits(output, replica);
      assertThat(after.get(0)).as("the count goes on on the new master:%n%s", String.join("\n", output))
          .isGreaterThan(before.get(before.size() - 1));
      assertThat(output).as("at most the call in flight at the failover fails").filteredOn(l -> l.startsWith("failed:")).hasSizeLessThanOrEqualTo(1);
      assertThat(output).as("nothing thrown out of the program").noneMatch(l -> l.startsWith("Exception in thread"));
    } finally {
      if (app != null) {
        app.destroy();
        app.waitFor();
      }
      script("stop", env);
      try (var files = Files.walk(dir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  /** The hit counts printed while {@code node} was the master, in order. */
  private static List<Long> hits(List<String> output, String node) {
    List<Long> out = new ArrayList<>();
    for (String line : output) {
      Matcher m = HITS.matcher(line);
      if (m.matches() && m.group(3).equals(node)) {
        out.add(Long.parseLong(m.group(2)));
      }
    }
    return out;
  }

  private static String script(String verb, Map<String, String> env) throws IOException, InterruptedException {
    ProcessBuilder b = new ProcessBuilder("sh", ROOT.resolve("examples/local/redis.sh").toString(), verb).redirectErrorStream(true);
    b.environment().putAll(env);
    Process p = b.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as("redis.sh %s: %s", verb, out).isZero();
    return out;
  }

  /** The first of {@code count} consecutive ports free on 127.0.0.1. */
  private static int freePorts(int count) throws IOException {
    for (int attempt = 0; attempt < 100; attempt++) {
      int first = ThreadLocalRandom.current().nextInt(20_000, 30_000);
      List<ServerSocket> held = new ArrayList<>();
      try {
        for (int p = first; p < first + count; p++) {
          held.add(new ServerSocket(p, 1, InetAddress.getByName("127.0.0.1")));
        }
        return first;
      } catch (IOException taken) {
        // try another range
      } finally {
        for (ServerSocket s : held) {
          s.close();
        }
      }
    }
    throw new IOException("no " + count + " consecutive free ports");
  }
}
