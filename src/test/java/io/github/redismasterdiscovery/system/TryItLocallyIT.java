package io.github.redismasterdiscovery.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.redismasterdiscovery.examples.TryItJedisPool;
import io.github.redismasterdiscovery.examples.TryItPlainJava;
import io.github.redismasterdiscovery.examples.TryItSpring;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
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

  /** What {@code examples/local/redis.sh start} started, on free ports, for one test. */
  private record Local(int port, int sentinelPort, Map<String, String> env) {
    String master() {
      return "127.0.0.1:" + port;
    }

    String replica() {
      return "127.0.0.1:" + (port + 1);
    }

    List<String> sentinels() {
      return List.of("127.0.0.1:" + sentinelPort, "127.0.0.1:" + (sentinelPort + 1), "127.0.0.1:" + (sentinelPort + 2));
    }
  }

  interface WithLocal {
    void run(Local local) throws Exception;
  }

  /** Starts redis.sh on free ports, waits until a failover is possible, runs {@code test}, stops what it started. */
  private static void withLocalRedis(WithLocal test) throws Exception {
    int port = freePorts(2);
    int sentinelPort = freePorts(3);
    Path dir = Files.createTempDirectory("rmd-try-it");
    Local local = new Local(port, sentinelPort, Map.of("RMD_REDIS_PORT", String.valueOf(port), "RMD_SENTINEL_PORT",
        String.valueOf(sentinelPort), "RMD_LOCAL_DIR", dir.toString()));
    try {
      assertThat(script("start", local.env())).contains("master " + local.master());
      HostAndPort sentinel = new HostAndPort("127.0.0.1", sentinelPort);
      // A failover needs the Sentinels to know the replica, and each other.
      await().atMost(Duration.ofSeconds(20)).until(() -> {
        try (Jedis s = new Jedis(sentinel)) {
          return s.sentinelReplicas("mymaster").size() == 1 && s.sentinelSentinels("mymaster").size() == 2;
        }
      });
      test.run(local);
    } finally {
      script("stop", local.env());
      try (var files = Files.walk(dir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  /** The README prints the program exactly as its file in examples/, without the package line. */
  private static void assertReadmeShows(Class<?> program) throws IOException {
    String file = Files.readString(ROOT.resolve("examples/src/main/java/" + program.getName().replace('.', '/') + ".java"));
    String shown = file.replaceFirst("^package [^;]+;\\n\\n", "");
    assertThat(Files.readString(ROOT.resolve("README.md"))).as("README shows %s as it is in examples/", program.getSimpleName())
        .contains("```java\n" + shown + "```");
  }

  /** Runs {@code program}'s main in its own JVM, as {@code exec:java} would; its output lines go to {@code output}. */
  private static Process launch(Class<?> program, List<String> args, List<String> output) throws IOException {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), program.getName()));
    command.addAll(args);
    Process app = new ProcessBuilder(command).redirectErrorStream(true).start();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(app.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line = r.readLine(); line != null; line = r.readLine()) {
          output.add(line);
        }
      } catch (IOException e) {
        // the process ended
      }
    }, "try-it-output");
    reader.setDaemon(true);
    reader.start();
    return app;
  }

  private static void stop(Process app) throws InterruptedException {
    if (app != null) {
      app.destroy();
      app.waitFor();
    }
  }

  /** Each plain program through each fault the README tells the reader to try: redis.sh failover, redis.sh kill-master. */
  static Stream<Arguments> programsAndFaults() {
    return Stream.of(TryItPlainJava.class, TryItJedisPool.class)
        .flatMap(program -> Stream.of(Arguments.of(program, "failover"), Arguments.of(program, "kill-master")));
  }

  @ParameterizedTest(name = "{0} through redis.sh {1}")
  @MethodSource("programsAndFaults")
  void theReadmesProgramKeepsCountingThroughAFailover(Class<?> program, String fault) throws Exception {
    assertReadmeShows(program);
    withLocalRedis(local -> {
      List<String> output = new CopyOnWriteArrayList<>();
      Process app = launch(program, local.sentinels(), output);
      try {
        await().atMost(Duration.ofSeconds(20)).until(() -> hits(output, local.master()).size() >= 2);
        assertThat(script(fault, local.env())).contains(fault.equals("failover") ? "OK" : "killed the master");
        await().atMost(Duration.ofSeconds(20)).until(() -> hits(output, local.replica()).size() >= 3);

        assertThat(app.isAlive()).as("still counting:%n%s", String.join("\n", output)).isTrue();
        List<Long> before = hits(output, local.master());
        List<Long> after = hits(output, local.replica());
        assertThat(after.get(0)).as("the count goes on on the new master:%n%s", String.join("\n", output))
            .isGreaterThan(before.get(before.size() - 1));
        // A kill -9 fails at most the call in flight (it may have run: reported, not retried). A planned failover fails
        // nothing through the retrying executor; the drop-in pool, which retries nothing, may report the one call that
        // waited at the write fence, refused unsent.
        boolean retries = program == TryItPlainJava.class;
        assertThat(output).as("failed calls:%n%s", String.join("\n", output)).filteredOn(l -> l.startsWith("failed:"))
            .hasSizeLessThanOrEqualTo(fault.equals("failover") && retries ? 0 : 1);
        assertThat(output).as("nothing thrown out of the program").noneMatch(l -> l.startsWith("Exception in thread"));
      } finally {
        stop(app);
      }
    });
  }

  @Test
  void theReadmesSpringApplicationCountsAndShowsItsHealthThroughAFailover() throws Exception {
    assertReadmeShows(TryItSpring.class);
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    withLocalRedis(local -> {
      int port = freePorts(1);
      URI health = URI.create("http://127.0.0.1:" + port + "/actuator/health/redisMasterDiscovery");
      URI hits = URI.create("http://127.0.0.1:" + port + "/hits");
      List<String> output = new CopyOnWriteArrayList<>();
      // The README's command with two arguments: this test's ports.
      Process app = launch(TryItSpring.class, List.of("--server.port=" + port, "--spring.main.banner-mode=off",
          "--redis-master-discovery.sentinel.nodes=" + String.join(",", local.sentinels())), output);
      try {
        await().atMost(Duration.ofSeconds(60)).until(() -> body(http, health, "GET").contains("\"master\":\"" + local.master() + "\""));
        long first = Long.parseLong(body(http, hits, "POST"));
        assertThat(script("failover", local.env())).contains("OK");
        await().atMost(Duration.ofSeconds(20)).until(() -> body(http, health, "GET").contains("\"master\":\"" + local.replica() + "\""));
        long afterwards = Long.parseLong(body(http, hits, "POST"));
        assertThat(afterwards).as("the count goes on on the new master").isGreaterThan(first);
        assertThat(body(http, URI.create("http://127.0.0.1:" + port + "/actuator/health"), "GET")).as("listed in the overall health")
            .contains("\"redisMasterDiscovery\":{\"details\":{\"master\":\"" + local.replica() + "\"");
      } finally {
        stop(app);
      }
    });
  }

  /** The response body when the status is 200, else "" (the application may still be starting). */
  private static String body(HttpClient http, URI uri, String method) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5))
          .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? r.body() : "";
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
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
