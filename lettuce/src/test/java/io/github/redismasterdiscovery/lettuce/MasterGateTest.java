package io.github.redismasterdiscovery.lettuce;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.AsyncCommand;
import io.lettuce.core.protocol.Command;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.protocol.TransactionalCommand;
import io.netty.channel.ChannelFuture;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The gate on one channel, on Netty's {@link EmbeddedChannel} (what passes it is what Lettuce would
 * write to the socket) with a follower whose fence and generation the test sets. No processes, no sleeps.
 */
class MasterGateTest {

  /** A follower whose state the test sets. */
  static final class TestFollower implements MasterGate.Follower {
    long open = 1;
    long current = 1;
    final List<Long> broke = new ArrayList<>();
    int closedAtSwitch;
    int failedInFlight;

    @Override
    public long openGeneration() {
      return open;
    }

    @Override
    public boolean isCurrent(long generation) {
      return generation == current;
    }

    @Override
    public String masterText() {
      return "10.0.0.2:6379";
    }

    @Override
    public void opened(MasterGate gate) {
    }

    @Override
    public void closed(MasterGate gate) {
    }

    @Override
    public void connectFailed(long generation) {
    }

    @Override
    public void broke(long generation) {
      broke.add(generation);
    }

    @Override
    public void demoted(long generation) {
    }

    @Override
    public void closedAtSwitch() {
      closedAtSwitch++;
    }

    @Override
    public void failedInFlight() {
      failedInFlight++;
    }

    @Override
    public void heldAtFence() {
    }
  }

  private final TestFollower follower = new TestFollower();
  private EmbeddedChannel channel;
  private MasterGate gate;

  @BeforeEach
  void connectToTheMasterOfGenerationOne() {
    channel = new EmbeddedChannel();
    channel.freezeTime();
    gate = new MasterGate(follower);
    channel.pipeline().addLast(MasterGate.NAME, gate);
    channel.connect(new MasterAddress("127.0.0.1", 6379, 1, follower));
    channel.pipeline().fireChannelActive(); // what Lettuce's handshake handler passes on once HELLO/AUTH are done
  }

  private static AsyncCommand<String, String, String> command(CommandType type) {
    CommandArgs<String, String> args = new CommandArgs<>(StringCodec.UTF8);
    if (type != CommandType.MULTI && type != CommandType.EXEC) {
      args.addKey("k");
    }
    return new AsyncCommand<>(new Command<>(type, new StatusOutput<>(StringCodec.UTF8), args));
  }

  private static Throwable failure(AsyncCommand<?, ?, ?> c) {
    try {
      c.toCompletableFuture().join();
      return null;
    } catch (CompletionException e) {
      return e.getCause();
    }
  }

  @Test
  void whileItsGenerationIsOpenCommandsPass() {
    AsyncCommand<String, String, String> set = command(CommandType.SET);
    assertThat(channel.writeAndFlush(set).isSuccess()).isTrue();
    assertThat((Object) channel.readOutbound()).isSameAs(set);
  }

  @Test
  void atAWriteFenceCommandsAreHeldInOrderAndGoOutWhenTheFenceLifts() {
    follower.open = -1; // Sentinel is promoting a replica away from this master
    AsyncCommand<String, String, String> first = command(CommandType.SET);
    AsyncCommand<String, String, String> second = command(CommandType.INCR);
    ChannelFuture w1 = channel.writeAndFlush(first);
    ChannelFuture w2 = channel.writeAndFlush(second);
    channel.advanceTimeBy(5, TimeUnit.MILLISECONDS);
    channel.runScheduledPendingTasks();
    assertThat((Object) channel.readOutbound()).as("nothing sent during the fence").isNull();
    assertThat(w1.isDone()).isFalse();

    follower.open = 1; // the failover aborted: the same master goes on
    channel.advanceTimeBy(2, TimeUnit.MILLISECONDS);
    channel.runScheduledPendingTasks();
    assertThat((Object) channel.readOutbound()).isSameAs(first);
    assertThat((Object) channel.readOutbound()).isSameAs(second);
    assertThat(w1.isSuccess() && w2.isSuccess()).isTrue();
  }

  @Test
  void atTheSwitchHeldCommandsAreGivenBackUnsentWritesInFlightFailAndReadsAreLeftToLettucesReplay() {
    AsyncCommand<String, String, String> setInFlight = command(CommandType.SET);
    AsyncCommand<String, String, String> getInFlight = command(CommandType.GET);
    channel.writeAndFlush(setInFlight);
    channel.writeAndFlush(getInFlight);
    follower.open = -1;
    AsyncCommand<String, String, String> held = command(CommandType.SET);
    ChannelFuture heldWrite = channel.writeAndFlush(held);

    follower.current = 2; // the new master is proven
    follower.open = 2;
    gate.switchAwayIfReplaced("the master changed");

    assertThat(channel.isOpen()).as("closed, for Lettuce to reconnect to the new master").isFalse();
    assertThat(heldWrite.cause()).as("Lettuce queues a command whose write failed this way again, unsent")
        .isInstanceOf(ClosedChannelException.class);
    assertThat(held.isDone()).isFalse();
    assertThat(failure(setInFlight)).isInstanceOfSatisfying(MasterSwitchedException.class, e -> assertThat(e.mayHaveRun()).isTrue());
    assertThat(getInFlight.isDone()).as("a read: Lettuce sends it again on the new master").isFalse();
    assertThat(follower.closedAtSwitch).isEqualTo(1);
    assertThat(follower.broke).as("closed by us, not broken").isEmpty();
  }

  @Test
  void aCommandOnAChannelOfAReplacedMasterIsNeverSent() {
    follower.current = 2;
    follower.open = 2;
    AsyncCommand<String, String, String> set = command(CommandType.SET);
    ChannelFuture write = channel.writeAndFlush(set);
    assertThat((Object) channel.readOutbound()).isNull();
    assertThat(write.cause()).isInstanceOf(ClosedChannelException.class);
    assertThat(channel.isOpen()).isFalse();
  }

  @Test
  void aConnectionThatBreaksFailsWhatWasInFlightAndHasTheDiscoveryLookAgain() {
    AsyncCommand<String, String, String> set = command(CommandType.SET);
    channel.writeAndFlush(set);
    channel.pipeline().fireExceptionCaught(new java.io.IOException("Connection reset by peer"));
    assertThat(failure(set)).isInstanceOfSatisfying(MasterSwitchedException.class, e -> assertThat(e.mayHaveRun()).isTrue());
    assertThat(channel.isOpen()).isFalse();
    assertThat(follower.broke).containsExactly(1L);
  }

  @Test
  void aTransactionOpenAtTheSwitchFailsWholeAndItsLaterCommandsAreRefusedOnTheNextChannel() {
    AsyncCommand<String, String, String> multi = command(CommandType.MULTI);
    channel.writeAndFlush(multi).syncUninterruptibly();
    multi.complete(); // +OK: answered, as it is long before the switch
    AsyncCommand<String, String, String> queued = command(CommandType.SET);
    channel.writeAndFlush(new TransactionalCommand<>(queued));
    follower.current = 2;
    follower.open = 2;
    gate.switchAwayIfReplaced("the master changed");
    assertThat(failure(queued)).isInstanceOfSatisfying(MasterSwitchedException.class, e -> assertThat(e.mayHaveRun()).isFalse());

    // The next channel, to the new master: the rest of that transaction is refused unsent, EXEC included.
    EmbeddedChannel next = new EmbeddedChannel();
    next.pipeline().addLast(MasterGate.NAME, new MasterGate(follower));
    next.connect(new MasterAddress("127.0.0.1", 6380, 2, follower));
    next.pipeline().fireChannelActive();
    AsyncCommand<String, String, String> later = command(CommandType.SET);
    AsyncCommand<String, String, String> exec = command(CommandType.EXEC);
    next.writeAndFlush(new TransactionalCommand<>(later));
    next.writeAndFlush(exec);
    assertThat((Object) next.readOutbound()).as("nothing of the transaction reaches the new master").isNull();
    assertThat(failure(later)).isInstanceOfSatisfying(MasterSwitchedException.class, e -> assertThat(e.mayHaveRun()).isFalse());
    assertThat(failure(exec)).isInstanceOf(MasterSwitchedException.class);
    AsyncCommand<String, String, String> plain = command(CommandType.SET);
    next.writeAndFlush(plain);
    assertThat((Object) next.readOutbound()).as("the connection goes on").isSameAs(plain);
  }

  @Test
  void aChannelToAnAddressTheDiscoveryDidNotNameIsClosedAtOnce() {
    EmbeddedChannel other = new EmbeddedChannel();
    other.pipeline().addLast(MasterGate.NAME, new MasterGate(follower));
    other.connect(new java.net.InetSocketAddress("127.0.0.1", 6379)); // Lettuce's cached address, after a failed resolve
    other.pipeline().fireChannelActive();
    assertThat(other.isOpen()).isFalse();
  }
}
