package io.github.redismasterdiscovery.examples.spring;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * A Spring Boot application on the starter: nothing in its code knows about failover. Its
 * {@code StringRedisTemplate} sits on the starter's connection factory, which follows the master.
 * {@code application-kubernetes.yaml} configures it for Bitnami's chart in a cluster;
 * {@link LocalCounterApplication} runs it against a local topology.
 */
@SpringBootApplication
@RestController
public class CounterApplication {

  private final StringRedisTemplate redis;

  public CounterApplication(StringRedisTemplate redis) {
    this.redis = redis;
  }

  /** Counts a hit on {@code page}. */
  @PostMapping("/hits/{page}")
  public long hit(@PathVariable("page") String page) {
    Long n = redis.opsForValue().increment("hits:" + page);
    return n == null ? 0 : n;
  }

  /** The count of {@code page}. */
  @GetMapping("/hits/{page}")
  public long hits(@PathVariable("page") String page) {
    String v = redis.opsForValue().get("hits:" + page);
    return v == null ? 0 : Long.parseLong(v);
  }

  public static void main(String[] args) {
    SpringApplication.run(CounterApplication.class, args);
  }
}
