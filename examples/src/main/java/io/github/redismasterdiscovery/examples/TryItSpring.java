package io.github.redismasterdiscovery.examples;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;

/** A Spring Boot web application on the local Sentinels: POST /hits counts, /actuator/health shows the discovery. */
@SpringBootConfiguration
@EnableAutoConfiguration
@RestController
public class TryItSpring {

  private final StringRedisTemplate redis;

  public TryItSpring(StringRedisTemplate redis) {
    this.redis = redis;
  }

  @PostMapping("/hits")
  public Long hit() {
    return redis.opsForValue().increment("try-it:hits");
  }

  public static void main(String[] args) {
    new SpringApplicationBuilder(TryItSpring.class).properties( // usually in application.yaml; arguments such as --server.port=8081 win
        "redis-master-discovery.sentinel.nodes=127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381",
        "redis-master-discovery.sentinel.master-name=mymaster",
        "redis-master-discovery.startup-timeout=10s",
        "redis-master-discovery.max-wait=10s", // longer than a kill -9 takes (down-after 2 s here, then the election)
        "management.endpoints.web.exposure.include=health",
        "management.endpoint.health.show-components=always",
        "management.endpoint.health.show-details=always").run(args);
  }
}
