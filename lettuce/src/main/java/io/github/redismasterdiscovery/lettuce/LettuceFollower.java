package io.github.redismasterdiscovery.lettuce;

import io.github.redismasterdiscovery.FollowerHooks;
import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.MasterListener;
import io.github.redismasterdiscovery.MasterSnapshot;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.protocol.CommandHandler;
import io.lettuce.core.resource.NettyCustomizer;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import redis.clients.jedis.HostAndPort;

/**
 * The machine behind {@link FailoverRedisClient}: resolves the master for every connect and
 * reconnect, puts a {@link MasterGate} on every channel, and closes the channels of an old master
 * when the discovery publishes a new one.
 */
final class LettuceFollower implements MasterListener, NettyCustomizer, MasterGate.Follower {

  private static final Logger log = LoggerFactory.getLogger(LettuceFollower.class);

  /** How often a waiting resolve looks again: every millisecond for the first 5 s, then every 20 ms. */
  private static final Duration FAST_POLL = Duration.ofMillis(1);
  private static final Duration SLOW_POLL = Duration.ofMillis(20);
  private static final long FAST_POLLS = 5_000;

  private final MasterDiscovery discovery;
  private final FollowerHooks hooks;
  private final Duration resolveTimeout;
  private final Set<MasterGate> gates = ConcurrentHashMap.newKeySet();
  private final AtomicLong doubtedGeneration = new AtomicLong(Long.MIN_VALUE);
  private final AtomicLong verdictRound = new AtomicLong();
  private volatile boolean closed;

  private final LongAdder switches = new LongAdder();
  private final LongAdder closedAtSwitch = new LongAdder();
  private final LongAdder failedInFlight = new LongAdder();
  private final LongAdder heldAtFence = new LongAdder();

  LettuceFollower(MasterDiscovery discovery, Duration resolveTimeout) {
    this.discovery = discovery;
    this.hooks = FollowerHooks.of(discovery);
    this.resolveTimeout = resolveTimeout;
    hooks.addFollower(this);
  }

  MasterDiscovery discovery() {
    return discovery;
  }

  // ------------------------------------------------------------ resolving

  /**
   * The current master, once there is one that no write fence holds and no doubt hangs over; waits
   * without blocking a thread. Errors only when the client is shut down or after {@code resolveTimeout}
   * without a master (Lettuce then logs a WARN and tries its last address, whose channel the gate
   * closes at once: it carries no generation).
   */
  Mono<SocketAddress> resolve() {
    Mono<SocketAddress> attempt = Mono.defer(() -> {
      if (closed) {
        return Mono.error(new RedisConnectionException("FailoverRedisClient is shut down"));
      }
      SocketAddress a = tryResolve();
      return a == null ? Mono.empty() : Mono.just(a);
    });
    return attempt
        .repeatWhenEmpty(n -> n.concatMap(i -> Mono.delay(i < FAST_POLLS ? FAST_POLL : SLOW_POLL)))
        .timeout(resolveTimeout, Mono.defer(() -> Mono.error(new RedisConnectionException("no verified Redis master within "
            + resolveTimeout.toMillis() + " ms: " + discovery.snapshot().describe()))));
  }

  private SocketAddress tryResolve() {
    MasterSnapshot s = discovery.snapshot();
    HostAndPort master = s.master().orElse(null);
    long g = s.generation();
    if (master == null || hooks.openGeneration() != g) {
      return null; // no master, or a write fence: wait for the verdict rather than connect to a master being replaced
    }
    if (doubtedGeneration.get() == g && hooks.roundsCompleted() < verdictRound.get()) {
      return null; // this master refused or dropped a connection: wait until the discovery has looked again
    }
    return new MasterAddress(master.getHost(), master.getPort(), g, this);
  }

  private void doubt(long generation) {
    if (generation < 0 || !isCurrent(generation)) {
      return;
    }
    verdictRound.set(hooks.roundsCompleted() + 2); // a round that started after this one has seen the cause
    doubtedGeneration.set(generation);
    hooks.doubt();
  }

  // ------------------------------------------------------------ what the gates ask and report

  @Override
  public long openGeneration() {
    return hooks.openGeneration();
  }

  @Override
  public boolean isCurrent(long generation) {
    return !closed && discovery.snapshot().generation() == generation && generation >= 0;
  }

  @Override
  public String masterText() {
    return discovery.snapshot().master().map(HostAndPort::toString).orElse("none yet");
  }

  @Override
  public void opened(MasterGate gate) {
    gates.add(gate);
  }

  @Override
  public void closed(MasterGate gate) {
    gates.remove(gate);
  }

  @Override
  public void connectFailed(long generation) {
    doubt(generation);
  }

  @Override
  public void broke(long generation) {
    doubt(generation);
  }

  @Override
  public void demoted(long generation) {
    doubt(generation);
  }

  @Override
  public void closedAtSwitch() {
    closedAtSwitch.increment();
  }

  @Override
  public void failedInFlight() {
    failedInFlight.increment();
  }

  @Override
  public void heldAtFence() {
    heldAtFence.increment();
  }

  LettuceFailoverStats stats() {
    return new LettuceFailoverStats(switches.sum(), closedAtSwitch.sum(), failedInFlight.sum(), heldAtFence.sum(), gates.size());
  }

  // ------------------------------------------------------------ the discovery's side

  /** A new master (or none): every channel of an older one is closed, on its own event loop. */
  @Override
  public void onMasterChange(MasterSnapshot previous, MasterSnapshot current) {
    if (previous.generation() == current.generation()) {
      return;
    }
    if (current.master().isPresent() && previous.lastKnownMaster().isPresent()) {
      switches.increment();
    }
    String why = "the master changed (now " + current.master().map(HostAndPort::toString).orElse("none yet") + ")";
    for (MasterGate gate : gates) {
      if (gate.generation() != current.generation()) {
        ChannelHandlerContext ctx = gate.context();
        if (ctx != null) {
          ctx.executor().execute(() -> gate.switchAwayIfReplaced(why));
        }
      }
    }
  }

  // ------------------------------------------------------------ Lettuce's side

  /** Puts a gate between Lettuce's handshake handler and its command handler on every channel. */
  @Override
  public void afterChannelInitialized(Channel channel) {
    ChannelPipeline p = channel.pipeline();
    ChannelHandlerContext commands = p.context(CommandHandler.class);
    if (commands == null) {
      log.warn("A Lettuce channel without a CommandHandler ({}): not gated", p.names());
      return;
    }
    p.addBefore(commands.name(), MasterGate.NAME, new MasterGate(this));
  }

  void close() {
    closed = true;
    hooks.removeFollower(this);
  }
}
