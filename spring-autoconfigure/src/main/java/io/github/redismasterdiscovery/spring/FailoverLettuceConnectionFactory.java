package io.github.redismasterdiscovery.spring;

import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.lettuce.FailoverRedisClient;
import io.github.redismasterdiscovery.lettuce.LettuceFailoverStats;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisURI;
import java.util.Objects;
import java.util.Optional;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceClientConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * A {@link LettuceConnectionFactory} whose connections always go to the master a
 * {@link MasterDiscovery} has verified: its client is a {@link FailoverRedisClient}. Everything
 * Spring Data Redis builds on it ({@code RedisTemplate}, {@code ReactiveRedisTemplate}, caches,
 * Spring Session, listener containers) follows the master through failovers without a change:
 * commands issued while Sentinel promotes a replica are held and sent to the new master, the old
 * master's connections are closed at the switch and Lettuce reconnects them (subscriptions included)
 * to the new one.
 *
 * <p>Only the standalone shape: Sentinel is one of the discovery's sources, never Lettuce's own
 * Sentinel support, and Redis Cluster has no single master.
 */
public class FailoverLettuceConnectionFactory extends LettuceConnectionFactory {

  private final MasterDiscovery discovery;
  private final RedisStandaloneConfiguration standalone;

  /**
   * @param discovery the discovery to follow (not closed by this factory)
   * @param standalone database and credentials of the data nodes; its host and port are not used
   * @param clientConfiguration timeouts, TLS, client name, client options and resources, pooling
   */
  public FailoverLettuceConnectionFactory(MasterDiscovery discovery, RedisStandaloneConfiguration standalone,
      LettuceClientConfiguration clientConfiguration) {
    super(standalone, clientConfiguration);
    this.discovery = Objects.requireNonNull(discovery, "discovery");
    this.standalone = standalone;
  }

  /** A {@link FailoverRedisClient} on the configuration's client resources and options, as Spring Data Redis builds its own. */
  @Override
  protected AbstractRedisClient createClient() {
    LettuceClientConfiguration configuration = getClientConfiguration();
    RedisURI.Builder uri = RedisURI.builder().withHost("discovered-master").withDatabase(standalone.getDatabase())
        .withSsl(configuration.isUseSsl()).withVerifyPeer(configuration.getVerifyMode()).withStartTls(configuration.isStartTls())
        .withTimeout(configuration.getCommandTimeout());
    String username = standalone.getUsername();
    char[] password = standalone.getPassword().toOptional().orElse(null);
    if (username != null && !username.isEmpty()) {
      uri.withAuthentication(username, password == null ? "" : new String(password));
    } else if (password != null) {
      uri.withPassword(password);
    }
    configuration.getClientName().ifPresent(uri::withClientName);
    RedisURI settings = uri.build();
    FailoverRedisClient client = configuration.getClientResources()
        .map(resources -> FailoverRedisClient.create(discovery, settings, resources))
        .orElseGet(() -> FailoverRedisClient.create(discovery, settings));
    configuration.getClientOptions().ifPresent(client::setOptions);
    return client;
  }

  /** The discovery this factory follows. */
  public MasterDiscovery discovery() {
    return discovery;
  }

  /** What the client has done at failovers so far; empty before the factory has started. */
  public Optional<LettuceFailoverStats> failoverStats() {
    return getNativeClient() instanceof FailoverRedisClient c ? Optional.of(c.failoverStats()) : Optional.empty();
  }
}
