package io.github.redismasterdiscovery.testkit;

import java.util.List;
import java.util.Objects;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;

/**
 * Spring Boot's Redis {@code ConnectionDetails} for a {@link RedisHaTopology}: its Sentinels, master-set
 * name and passwords. Declared as a bean in a Boot test, it connects the application to the topology with
 * no {@code spring.data.redis.*} or {@code redis-master-discovery.*} property: the starter of this project
 * takes its Sentinels from it (and Boot's own Redis auto-configuration would, too).
 *
 * <pre>{@code
 * @RegisterExtension
 * static final RedisHaExtension ha = RedisHaExtension.containers(b -> { });
 *
 * @TestConfiguration
 * static class Redis {
 *   @Bean
 *   RedisHaConnectionDetails redisConnectionDetails() {
 *     return RedisHaConnectionDetails.of(ha.topology());
 *   }
 * }
 * }</pre>
 *
 * <p>This is the nearest Boot 4 offers to {@code @ServiceConnection} for a topology: that annotation
 * works on one Testcontainers {@code Container}, and a Redis container yields a standalone address, not
 * Sentinels. Needs {@code spring-boot-data-redis} on the test class path (an optional dependency of the
 * testkit). TLS topologies are not covered: their clients need the topology's trust store as an SSL bundle.
 */
public final class RedisHaConnectionDetails implements DataRedisConnectionDetails {

  private final String masterName;
  private final List<Node> sentinels;
  private final String password;
  private final String sentinelPassword;

  private RedisHaConnectionDetails(RedisHaTopology topology) {
    this.masterName = topology.masterName();
    this.sentinels = topology.sentinelAddresses().stream().map(a -> new Node(a.getHost(), a.getPort())).toList();
    this.password = topology.password();
    this.sentinelPassword = topology.sentinelClientConfig().getPassword();
  }

  /** The connection details of a started {@code topology} (its Sentinels do not move, so they are read once). */
  public static RedisHaConnectionDetails of(RedisHaTopology topology) {
    return new RedisHaConnectionDetails(Objects.requireNonNull(topology, "topology"));
  }

  @Override
  public String getPassword() {
    return password;
  }

  @Override
  public Sentinel getSentinel() {
    return new Sentinel() {
      @Override
      public int getDatabase() {
        return 0;
      }

      @Override
      public String getMaster() {
        return masterName;
      }

      @Override
      public List<Node> getNodes() {
        return sentinels;
      }

      @Override
      public String getUsername() {
        return null;
      }

      @Override
      public String getPassword() {
        return sentinelPassword;
      }
    };
  }

  @Override
  public String toString() {
    return "RedisHaConnectionDetails{master=" + masterName + ", sentinels=" + sentinels + "}";
  }
}
