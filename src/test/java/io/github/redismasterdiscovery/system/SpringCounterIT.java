package io.github.redismasterdiscovery.system;

import io.github.redismasterdiscovery.examples.spring.LocalCounterApplication;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.springframework.context.ConfigurableApplicationContext;

/** The Spring Boot starter: {@code CounterApplication}, a web application that knows nothing of failover, called over HTTP. */
class SpringCounterIT extends CounterScenario {

  @Override
  Counter start(RedisHaTopology t) {
    ConfigurableApplicationContext app = LocalCounterApplication.start(t, "--server.port=0", "--spring.main.banner-mode=off");
    URI base = URI.create("http://127.0.0.1:" + app.getEnvironment().getProperty("local.server.port") + "/hits/");
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    return new Counter() {
      @Override
      public long hit(String page) throws Exception {
        return call(HttpRequest.newBuilder(base.resolve(page)).POST(HttpRequest.BodyPublishers.noBody()));
      }

      @Override
      public long hits(String page) throws Exception {
        return call(HttpRequest.newBuilder(base.resolve(page)).GET());
      }

      private long call(HttpRequest.Builder request) throws Exception {
        HttpResponse<String> response = http.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
          throw new IllegalStateException("HTTP " + response.statusCode() + ": " + response.body());
        }
        return Long.parseLong(response.body().trim());
      }

      @Override
      public void close() {
        app.close();
      }
    };
  }
}
