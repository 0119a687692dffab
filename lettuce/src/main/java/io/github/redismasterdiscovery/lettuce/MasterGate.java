package io.github.redismasterdiscovery.lettuce;

import io.lettuce.core.output.CommandOutput;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.protocol.ProtocolKeyword;
import io.lettuce.core.protocol.ReadOnlyCommands;
import io.lettuce.core.protocol.RedisCommand;
import io.lettuce.core.protocol.TransactionalCommand;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.concurrent.TimeUnit;

/**
 * The gate on one Lettuce channel to the master of one discovery generation: it stands between
 * Lettuce's handshake handler and its {@code CommandHandler}, so it sees every command Lettuce
 * writes (after the {@code CommandHandler} put it on its stack) and every disconnect before the
 * {@code CommandHandler} re-queues what was on the stack. Everything runs on the channel's event loop.
 *
 * <ul>
 *   <li><b>Before each command</b>: one volatile read when the channel's generation is the open one.
 *       Otherwise the command is held here, in order, unsent: during a write fence until the fence
 *       lifts (the same master goes on: the held commands go out) or the master changes.
 *   <li><b>At a switch</b> (the follower tells the gate, or the gate sees a newer generation first):
 *       commands in flight that may have run fail with {@link MasterSwitchedException}, read-only
 *       ones are left to Lettuce's replay, held ones fail their write with a
 *       {@link ClosedChannelException} (which has Lettuce queue them again, unsent), and the channel
 *       is closed. Lettuce's {@code ConnectionWatchdog} reconnects, to whatever the follower resolves:
 *       the new master, where the held and queued commands go.
 *   <li><b>When the master goes away by itself</b> (a {@code kill -9}, a reset): the same for the
 *       commands in flight, and the discovery is asked to re-check at once.
 * </ul>
 */
final class MasterGate extends ChannelDuplexHandler {

  static final String NAME = "rmd-master-gate";

  /** The generation of a channel connected to an address the follower did not resolve: never open. */
  private static final long STALE = -2;

  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  private record Held(Object msg, ChannelPromise promise) {}

  /** What the gate asks and tells the client it belongs to ({@link LettuceFollower}); every call is cheap and non-blocking. */
  interface Follower {
    /** The generation whose channels may send, or -1 while a write fence holds the current master (one volatile read). */
    long openGeneration();

    /** Whether {@code generation} is the discovery's current one. */
    boolean isCurrent(long generation);

    /** The current master, for messages. */
    String masterText();

    void opened(MasterGate gate);

    void closed(MasterGate gate);

    /** A connect to the master of {@code generation} failed. */
    void connectFailed(long generation);

    /** A channel to the master of {@code generation} closed or broke by itself. */
    void broke(long generation);

    /** The master of {@code generation} answered {@code READONLY}. */
    void demoted(long generation);

    void closedAtSwitch();

    void failedInFlight();

    void heldAtFence();
  }

  private final Follower follower;
  private ChannelHandlerContext ctx;
  private volatile long generation = STALE; // written once, at connect; read by the follower's thread
  private Object node = "an unknown node";
  private boolean ready; // the handshake is done: commands from here on are the application's
  private boolean switching; // closed by us, because the master changed
  private boolean broken; // closed under us
  private final ArrayDeque<RedisCommand<?, ?, ?>> sent = new ArrayDeque<>(); // passed on, possibly unanswered
  private final ArrayDeque<Held> held = new ArrayDeque<>();
  private RedisCommand<?, ?, ?> openMulti; // the MULTI sent without EXEC or DISCARD yet
  private ScheduledFuture<?> poll;

  MasterGate(Follower follower) {
    this.follower = follower;
  }

  long generation() {
    return generation;
  }

  ChannelHandlerContext context() {
    return ctx;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void connect(ChannelHandlerContext ctx, SocketAddress remote, SocketAddress local, ChannelPromise promise) {
    if (remote instanceof MasterAddress a && a.follower() == follower) {
      generation = a.generation();
    }
    node = remote;
    long g = generation;
    promise.addListener(f -> {
      if (!f.isSuccess()) {
        follower.connectFailed(g);
      }
    });
    ctx.connect(remote, local, promise);
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    ready = true; // Lettuce's handshake handler passes this on only after HELLO/AUTH/SELECT
    follower.opened(this);
    ctx.fireChannelActive(); // Lettuce now flushes what it buffered while disconnected, through write()
    if (!follower.isCurrent(generation)) {
      switchAway(generation == STALE ? "connected to " + node + ", which the discovery did not name"
          : "the master changed while connecting to " + node);
    }
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (!ready) {
      ctx.write(msg, promise); // the handshake
      return;
    }
    if (held.isEmpty() && follower.openGeneration() == generation) {
      pass(msg, promise); // the usual case: one volatile read
      return;
    }
    hold(msg, promise);
    decide();
  }

  private void hold(Object msg, ChannelPromise promise) {
    if (switching) {
      promise.tryFailure(new ClosedChannelException()); // Lettuce queues it again, for the next channel
      return;
    }
    if (held.isEmpty()) {
      follower.heldAtFence();
    }
    held.add(new Held(msg, promise));
  }

  /** With commands held: release them, move away, or look again in a millisecond. */
  private void decide() {
    if (switching || held.isEmpty()) {
      return;
    }
    if (follower.openGeneration() == generation) {
      Held h;
      while ((h = held.poll()) != null) {
        if (h.msg() instanceof RedisCommand<?, ?, ?> c && c.isDone()) {
          h.promise().tryFailure(new ClosedChannelException()); // timed out or cancelled while held: never sent
        } else {
          pass(h.msg(), h.promise());
        }
      }
      ctx.flush();
      return;
    }
    if (!follower.isCurrent(generation)) {
      switchAway("the master changed (now " + follower.masterText() + ")");
      return;
    }
    if (poll == null) {
      poll = ctx.executor().schedule(() -> {
        poll = null;
        decide();
      }, POLL_NANOS, TimeUnit.NANOSECONDS);
    }
  }

  private void pass(Object msg, ChannelPromise promise) {
    prune();
    if (msg instanceof RedisCommand<?, ?, ?> c) {
      if (openMulti == null && (c instanceof TransactionalCommand || c.getType() == CommandType.EXEC)) {
        refuseOrphan(c, promise);
        return;
      }
      track(c);
    } else if (msg instanceof Collection<?> batch) {
      for (Object o : batch) {
        if (o instanceof RedisCommand<?, ?, ?> c) {
          track(c);
        }
      }
    }
    ctx.write(msg, promise);
  }

  /**
   * A command of a transaction whose {@code MULTI} went to an older master (on a channel closed at a
   * switch): sending it here would run it outside any transaction, and its {@code EXEC} would find
   * none. It fails unsent, {@code EXEC} included, so the application sees the transaction fail whole;
   * nothing of it ran anywhere (the old master discarded the queued commands when the channel closed).
   */
  private void refuseOrphan(RedisCommand<?, ?, ?> c, ChannelPromise promise) {
    follower.failedInFlight();
    c.completeExceptionally(new MasterSwitchedException("not sent to " + node + ": its transaction (MULTI) was opened on a master "
        + "replaced since; the transaction did not run: retry it whole", false));
    promise.tryFailure(new ClosedChannelException()); // takes it off Lettuce's command stack; done, so never queued again
  }

  private void track(RedisCommand<?, ?, ?> c) {
    sent.add(c);
    ProtocolKeyword type = c.getType();
    if (type == CommandType.MULTI) {
      openMulti = c;
    } else if (type == CommandType.EXEC || type == CommandType.DISCARD) {
      openMulti = null;
    }
  }

  /** Drops answered commands from the head; a {@code READONLY} answer has the discovery re-check. */
  private void prune() {
    RedisCommand<?, ?, ?> c;
    while ((c = sent.peek()) != null && c.isDone()) {
      sent.poll();
      CommandOutput<?, ?, ?> out = c.getOutput();
      String error = out == null ? null : out.getError();
      if (error != null && error.startsWith("READONLY")) {
        follower.demoted(generation);
      }
    }
  }

  /** Called on the event loop by the follower at a switch: closes the channel unless its generation is the current one. */
  void switchAwayIfReplaced(String why) {
    if (!follower.isCurrent(generation)) {
      switchAway(why);
    }
  }

  /** On the event loop: the channel's master was replaced (or never was the master). */
  private void switchAway(String why) {
    if (switching || !ctx.channel().isActive()) {
      return;
    }
    switching = true;
    follower.closedAtSwitch();
    failInFlight(why + "; the connection to " + node + " was closed");
    failHeld();
    ctx.close();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    ready = false;
    follower.closed(this);
    if (poll != null) {
      poll.cancel(false);
      poll = null;
    }
    broke("the connection to " + node + " closed");
    ctx.fireChannelInactive(); // Lettuce's CommandHandler now re-queues what is still pending: read-only commands
  }

  /**
   * A connection reset (the master was killed, a network fault) fails the commands in flight here,
   * with {@link MasterSwitchedException}, and closes the channel: Lettuce's {@code CommandHandler}
   * would fail the oldest command with the raw {@code IOException} (even a read it would otherwise
   * replay) and, once the channel is inactive, fail new commands with it instead of buffering them.
   */
  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (ready && cause instanceof IOException) {
      broke("the connection to " + node + " broke (" + cause.getMessage() + ")");
      ctx.close();
      return;
    }
    ctx.fireExceptionCaught(cause);
  }

  /** The master went away by itself (killed, reset, CLIENT KILL): what it was doing is unknown. Once per channel. */
  private void broke(String why) {
    if (switching || broken) {
      return;
    }
    broken = true;
    failInFlight(why);
    failHeld();
    follower.broke(generation);
  }

  /**
   * Fails what was sent and may have run: every unanswered command but the read-only ones (Lettuce
   * sends those again on the next connection). A transaction whose {@code EXEC} was never sent did
   * not run: its commands fail as not run, and so does everything held behind them.
   */
  private void failInFlight(String why) {
    // Answered commands leave from the head, in order: a MULTI no longer here was answered, and all still here came after it.
    boolean inTransaction = openMulti != null && !sent.contains(openMulti);
    for (RedisCommand<?, ?, ?> c : sent) {
      if (c == openMulti) {
        inTransaction = true;
      }
      if (c.isDone()) {
        continue;
      }
      if (inTransaction) {
        follower.failedInFlight();
        c.completeExceptionally(new MasterSwitchedException(why + " inside a transaction whose EXEC was never sent: nothing of it ran; "
            + "safe to retry the transaction whole", false));
      } else if (!ReadOnlyCommands.isReadOnlyCommand(c.getType())) {
        follower.failedInFlight();
        c.completeExceptionally(new MasterSwitchedException(why + " before the reply to " + c.getType()
            + " came: it may have run there", true));
      }
    }
    sent.clear();
    if (openMulti != null) {
      for (Held h : held) {
        failCommands(h.msg(), why + " inside a transaction whose EXEC was never sent: nothing of it ran; safe to retry the transaction whole");
      }
      openMulti = null;
    }
  }

  private static void failCommands(Object msg, String why) {
    if (msg instanceof RedisCommand<?, ?, ?> c) {
      c.completeExceptionally(new MasterSwitchedException(why, false));
    } else if (msg instanceof Collection<?> batch) {
      for (Object o : batch) {
        if (o instanceof RedisCommand<?, ?, ?> c) {
          c.completeExceptionally(new MasterSwitchedException(why, false));
        }
      }
    }
  }

  /** Held commands were never sent: their writes fail as on a closed channel, and Lettuce queues them for the next one. */
  private void failHeld() {
    Held h;
    while ((h = held.poll()) != null) {
      h.promise().tryFailure(new ClosedChannelException());
    }
  }
}
