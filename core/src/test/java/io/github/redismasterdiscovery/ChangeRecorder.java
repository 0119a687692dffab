package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import redis.clients.jedis.HostAndPort;

/** A listener that queues every change with the nanoTime it arrived at, for tests to poll with a deadline. */
final class ChangeRecorder implements MasterListener {

  record Change(MasterSnapshot previous, MasterSnapshot current, long atNanos) {
    HostAndPort master() {
      return current.master().orElse(null);
    }
  }

  final BlockingQueue<Change> queue = new LinkedBlockingQueue<>();
  final List<Change> all = new CopyOnWriteArrayList<>();

  @Override
  public void onMasterChange(MasterSnapshot previous, MasterSnapshot current) {
    Change c = new Change(previous, current, System.nanoTime());
    all.add(c);
    queue.add(c);
  }

  /** The next change, failing the test if none arrives within {@code seconds}. */
  Change next(long seconds) throws InterruptedException {
    Change c = queue.poll(seconds, TimeUnit.SECONDS);
    assertThat(c).as("a master change within %d s", seconds).isNotNull();
    return c;
  }

  /** Skips changes until one names {@code master}; fails after {@code seconds}. */
  Change nextTo(HostAndPort master, long seconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (true) {
      Change c = queue.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      assertThat(c).as("a change to %s within %d s; seen %s", master, seconds, all).isNotNull();
      if (master.equals(c.master())) {
        return c;
      }
    }
  }
}
