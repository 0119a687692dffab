package io.github.redismasterdiscovery.lettuce;

import io.github.redismasterdiscovery.MasterDiscovery;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.event.DefaultEventPublisherOptions;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import io.lettuce.core.resource.NettyCustomizer;
import io.lettuce.core.sentinel.api.StatefulRedisSentinelConnection;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import reactor.core.publisher.Mono;

/**
 * A Lettuce {@link RedisClient} whose every connection goes to the master a {@link MasterDiscovery}
 * has verified, and moves when it changes: sync, async and reactive commands, pipelines
 * ({@code setAutoFlushCommands(false)}), transactions and pub/sub.
 *
 * <pre>{@code
 * MasterDiscovery discovery = MasterDiscovery.builder().sentinels("redis:26379").masterName("mymaster").build();
 * FailoverRedisClient client = FailoverRedisClient.create(discovery, RedisURI.builder()
 *     .withHost("redis-master")                 // ignored: the discovery names the master
 *     .withPassword(password.toCharArray())      // used, as are the database, TLS, client name and timeout
 *     .build());
 * StatefulRedisConnection<String, String> connection = client.connect();
 * connection.sync().set("greeting", "hello");
 * connection.reactive().get("greeting").subscribe(System.out::println);
 *
 * connection.close();
 * client.shutdown();   // does not close the discovery
 * discovery.close();
 * }</pre>
 *
 * <h2>At a failover</h2>
 * <ul>
 *   <li>While a write fence holds the master (Sentinel is promoting a replica away from it), commands
 *       are held unsent. When the new master is verified, the old master's channels are closed and
 *       Lettuce reconnects them to the new master, where the held commands, and every command issued
 *       meanwhile, go. No command is sent to a master the discovery has moved past, so nothing is
 *       acknowledged by a demoted master and then lost.
 *   <li>Commands sent to the old master and not yet answered fail with
 *       {@link MasterSwitchedException} ({@link MasterSwitchedException#mayHaveRun()} true), except
 *       read-only ones, which Lettuce sends again on the new master; commands queued in a transaction
 *       whose {@code EXEC} was never sent fail as not run. A blocking command ({@code BLPOP 0}) waiting
 *       on the old master fails at once instead of waiting on a replica.
 *   <li>Pub/sub connections subscribe again on the new master (Lettuce re-subscribes on reconnect).
 *   <li>When the master dies ({@code kill -9}), the commands in flight fail the same way, the
 *       discovery re-checks at once, and the connection waits (without a thread) for the next
 *       verified master; commands issued meanwhile are buffered by Lettuce and sent there.
 * </ul>
 *
 * <h2>Seams used</h2>
 * Only Lettuce's public extension points: {@link RedisClient#getSocketAddress(RedisURI)} (asked at
 * every connect and reconnect), a {@link NettyCustomizer} that adds one handler to each channel, and
 * {@link ClientResources#timer()} (a precise one, so a reconnect scheduled 1 ms after a switch runs
 * 1 ms later; Lettuce's default ticks every 100 ms). Every connection of this client goes to the
 * master: the {@link RedisURI} host, port and Sentinel settings are ignored; use a plain
 * {@link RedisClient} for anything else (Sentinel connections, other servers).
 *
 * <p>{@link #shutdown()} closes the connections, the client resources it created (not resources the
 * application passed in) and its timer thread; it does not close the discovery.
 */
public final class FailoverRedisClient extends RedisClient {

  private final LettuceFollower follower;
  private final ClientResources resourcesToClose; // its own, or a copy sharing the application's components
  private final PreciseTimer timer;
  private final AtomicBoolean shutDown = new AtomicBoolean();

  private FailoverRedisClient(ClientResources resources, RedisURI settings, LettuceFollower follower, ClientResources resourcesToClose,
      PreciseTimer timer) {
    super(resources, settings);
    this.follower = follower;
    this.resourcesToClose = resourcesToClose;
    this.timer = timer;
  }

  /** A client with default settings (no password, database 0, a 60 s timeout) and client resources of its own. */
  public static FailoverRedisClient create(MasterDiscovery discovery) {
    return create(discovery, RedisURI.create("redis://discovered-master"));
  }

  /**
   * A client with client resources of its own, shut down with it.
   *
   * @param settings password, database, TLS, client name and timeout of every connection; its host,
   *     port and Sentinels are ignored. Its timeout also bounds how long a connect waits for a verified
   *     master.
   */
  public static FailoverRedisClient create(MasterDiscovery discovery, RedisURI settings) {
    Objects.requireNonNull(discovery, "discovery");
    Objects.requireNonNull(settings, "settings");
    PreciseTimer timer = new PreciseTimer();
    LettuceFollower follower = new LettuceFollower(discovery, settings.getTimeout());
    ClientResources own = ClientResources.builder().nettyCustomizer(follower).timer(timer).reconnectDelay(firstAttemptAtOnce()).build();
    return new FailoverRedisClient(own, settings, follower, own, timer);
  }

  /**
   * A client on the application's client resources: their event loops, executors, event bus, latency
   * recorder, resolvers, reconnect delay and tracing are shared, never shut down by this client. It
   * uses a copy that shares them and adds its channel handler after the resources' own
   * {@link NettyCustomizer}, and its own timer.
   */
  public static FailoverRedisClient create(MasterDiscovery discovery, RedisURI settings, ClientResources resources) {
    Objects.requireNonNull(discovery, "discovery");
    Objects.requireNonNull(settings, "settings");
    Objects.requireNonNull(resources, "resources");
    PreciseTimer timer = new PreciseTimer();
    LettuceFollower follower = new LettuceFollower(discovery, settings.getTimeout());
    NettyCustomizer theirs = resources.nettyCustomizer();
    NettyCustomizer both = new NettyCustomizer() {
      @Override
      public void afterBootstrapInitialized(Bootstrap bootstrap) {
        if (theirs != null) {
          theirs.afterBootstrapInitialized(bootstrap);
        }
        follower.afterBootstrapInitialized(bootstrap);
      }

      @Override
      public void afterChannelInitialized(Channel channel) {
        if (theirs != null) {
          theirs.afterChannelInitialized(channel);
        }
        follower.afterChannelInitialized(channel);
      }
    };
    // Not mutate(): Lettuce hands the event loops over to a mutated copy, whose shutdown would stop them under
    // the application. Every component passed to a builder counts as shared, so this copy's shutdown stops nothing
    // of the application's; it publishes no latency events of its own (the application's resources do).
    ClientResources copy = ClientResources.builder()
        .eventLoopGroupProvider(resources.eventLoopGroupProvider())
        .eventExecutorGroup(resources.eventExecutorGroup())
        .eventBus(resources.eventBus())
        .commandLatencyRecorder(resources.commandLatencyRecorder())
        .commandLatencyPublisherOptions(DefaultEventPublisherOptions.disabled())
        .addressResolverGroup(resources.addressResolverGroup())
        .socketAddressResolver(resources.socketAddressResolver())
        .reconnectDelay(resources::reconnectDelay)
        .tracing(resources.tracing())
        .nettyCustomizer(both)
        .timer(timer)
        .build();
    return new FailoverRedisClient(copy, settings, follower, copy, timer);
  }

  /**
   * Lettuce's default reconnect delay (1, 2, 4 ... ms, at most 30 s), but the first attempt at once:
   * after a switch the new master is verified, and the resolver waits for a verdict whenever a master
   * refused or dropped a connection, so a first attempt never hammers a dead node.
   */
  static Delay firstAttemptAtOnce() {
    Delay exponential = Delay.exponential();
    return new Delay() {
      @Override
      public Duration createDelay(long attempt) {
        return attempt <= 1 ? Duration.ZERO : exponential.createDelay(attempt - 1);
      }
    };
  }

  /** The discovery this client follows. */
  public MasterDiscovery discovery() {
    return follower.discovery();
  }

  /** What this client has done at failovers so far. */
  public LettuceFailoverStats failoverStats() {
    return follower.stats();
  }

  /** Every connect and reconnect goes to the verified master, whatever {@code redisURI} says; see the class comment. */
  @Override
  protected Mono<SocketAddress> getSocketAddress(RedisURI redisURI) {
    return follower.resolve();
  }

  /** Every other shutdown method ends here. */
  @Override
  public CompletableFuture<Void> shutdownAsync(long quietPeriod, long timeout, TimeUnit timeUnit) {
    follower.close();
    CompletableFuture<Void> closed = super.shutdownAsync(quietPeriod, timeout, timeUnit);
    if (!shutDown.compareAndSet(false, true)) {
      return closed;
    }
    // The client's own resources are shut down whether or not Lettuce's shutdown failed: their Netty threads keep a JVM alive.
    return closed.handle((v, failure) -> {
      CompletableFuture<Void> done = new CompletableFuture<>();
      resourcesToClose.shutdown(quietPeriod, timeout, timeUnit).addListener(f -> {
        if (failure != null) {
          done.completeExceptionally(failure);
        } else {
          done.complete(null);
        }
      });
      return done;
    }).thenCompose(java.util.function.Function.identity()).whenComplete((v, t) -> timer.stop());
  }

  /** Not supported: this client connects to the master only. Use a plain {@link RedisClient} on a Sentinel's {@link RedisURI}. */
  @Override
  public StatefulRedisSentinelConnection<String, String> connectSentinel() {
    throw sentinelNotSupported();
  }

  /** Not supported: see {@link #connectSentinel()}. */
  @Override
  public <K, V> StatefulRedisSentinelConnection<K, V> connectSentinel(RedisCodec<K, V> codec) {
    throw sentinelNotSupported();
  }

  /** Not supported: see {@link #connectSentinel()}. */
  @Override
  public StatefulRedisSentinelConnection<String, String> connectSentinel(RedisURI redisURI) {
    throw sentinelNotSupported();
  }

  /** Not supported: see {@link #connectSentinel()}. */
  @Override
  public <K, V> StatefulRedisSentinelConnection<K, V> connectSentinel(RedisCodec<K, V> codec, RedisURI redisURI) {
    throw sentinelNotSupported();
  }

  /** Not supported: see {@link #connectSentinel()}. */
  @Override
  public <K, V> CompletableFuture<StatefulRedisSentinelConnection<K, V>> connectSentinelAsync(RedisCodec<K, V> codec, RedisURI redisURI) {
    throw sentinelNotSupported();
  }

  // Lettuce would connect it to the master (this client resolves every address to the master), where every
  // Sentinel command then fails with "unknown command": refuse at once, saying what to use instead.
  private static UnsupportedOperationException sentinelNotSupported() {
    return new UnsupportedOperationException("FailoverRedisClient connects to the Redis master only: for Sentinel commands, "
        + "use a plain RedisClient.create(RedisURI.create(\"redis://<sentinel-host>:26379\")).connectSentinel()");
  }

  @Override
  public String toString() {
    return "FailoverRedisClient{" + follower.discovery() + ", " + failoverStats() + "}";
  }
}
