package io.github.redismasterdiscovery.spring.lettuce;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.lettuce.FailoverRedisClient;
import io.github.redismasterdiscovery.spring.FailoverJedisConnectionFactory;
import io.github.redismasterdiscovery.spring.FailoverLettuceConnectionFactory;
import io.github.redismasterdiscovery.spring.RedisMasterDiscoveryAutoConfiguration;
import java.io.IOException;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.data.redis.autoconfigure.DataRedisReactiveAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.data.redis.connection.ReactiveRedisConnectionFactory;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.connection.lettuce.LettucePoolingClientConfiguration;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;

/** Which client the starter follows the master with, when Lettuce (Boot's default) is on the classpath; nothing connects. */
class LettuceAutoConfigurationTest {

  private final ApplicationContextRunner runner = new ApplicationContextRunner()
      .withConfiguration(AutoConfigurations.of(RedisMasterDiscoveryAutoConfiguration.class, DataRedisAutoConfiguration.class,
          DataRedisReactiveAutoConfiguration.class))
      .withPropertyValues("redis-master-discovery.nodes=127.0.0.1:" + closedPort());

  static int closedPort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void withLettuceOnTheClasspathBootsLettuceFactoryIsReplacedByOneThatFollowsTheMaster() {
    runner.withPropertyValues("spring.data.redis.timeout=3s", "spring.data.redis.client-name=app").run(context -> {
      assertThat(context).hasSingleBean(MasterDiscovery.class).hasSingleBean(RedisConnectionFactory.class);
      FailoverLettuceConnectionFactory factory = context.getBean(FailoverLettuceConnectionFactory.class);
      assertThat(factory.discovery()).isSameAs(context.getBean(MasterDiscovery.class));
      assertThat(context.getBean(ReactiveRedisConnectionFactory.class)).isSameAs(factory);
      assertThat(context).hasSingleBean(ReactiveStringRedisTemplate.class);
      assertThat(factory.getClientConfiguration().getCommandTimeout()).hasSeconds(3);
      assertThat(factory.getClientConfiguration().getClientName()).contains("app");
      assertThat(factory.getClientConfiguration()).as("Boot's rule: pooled when commons-pool2 is there")
          .isInstanceOf(LettucePoolingClientConfiguration.class);
      assertThat(factory.getNativeClient()).isInstanceOf(FailoverRedisClient.class);
    });
  }

  @Test
  void clientTypeJedisChoosesJedis() {
    runner.withPropertyValues("spring.data.redis.client-type=jedis")
        .run(context -> assertThat(context.getBean(RedisConnectionFactory.class)).isInstanceOf(FailoverJedisConnectionFactory.class));
  }

  @Test
  void clientTypeLettuceChoosesLettuce() {
    runner.withPropertyValues("spring.data.redis.client-type=lettuce")
        .run(context -> assertThat(context.getBean(RedisConnectionFactory.class)).isInstanceOf(FailoverLettuceConnectionFactory.class));
  }

  @Test
  void withoutRmdLettuceBootsLettuceIsNotUsedButJedisFollowsTheMaster() {
    runner.withClassLoader(new FilteredClassLoader(FailoverRedisClient.class))
        .run(context -> assertThat(context.getBean(RedisConnectionFactory.class)).isInstanceOf(FailoverJedisConnectionFactory.class)
            .isNotInstanceOf(LettuceConnectionFactory.class));
  }

  @Test
  void poolingOffAsBootHasIt() {
    runner.withPropertyValues("spring.data.redis.lettuce.pool.enabled=false")
        .run(context -> assertThat(context.getBean(FailoverLettuceConnectionFactory.class).getClientConfiguration())
            .isNotInstanceOf(LettucePoolingClientConfiguration.class));
  }
}
