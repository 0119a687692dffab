package io.github.redismasterdiscovery.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.redismasterdiscovery.testkit.RedisHaExtension;
import io.github.redismasterdiscovery.testkit.RedisHaTopology;
import io.github.redismasterdiscovery.testkit.RedisProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The system's end-to-end scenario, run once per way of using the library: an application counts
 * page hits (INCR) from {@value #WRITERS} threads while Redis goes through a SENTINEL FAILOVER, a
 * master label moved to a replica, and a kill -9 of the master, on a real topology whose labels
 * lag Sentinel by 1 s as Bitnami's do.
 *
 * <p>Each thread counts its own page, so the counts it is acknowledged must rise by exactly one per
 * acknowledged hit. What the assertions guard, as counts:
 * <ul>
 *   <li>no acknowledged hit is lost, through the failover and the label move: a count never repeats
 *       or falls (a hit counted by a demoted master would vanish when it resynchronizes);
 *   <li>no hit is counted twice: the count rises by more than one only after a failed call, at most
 *       once per failure (a failed call may have been applied before its connection broke);
 *   <li>hits keep being counted on each new master, and at most one call per thread fails per fault.
 * </ul>
 * A kill -9 can lose the hits the master acknowledged but had not yet sent to its replicas (Redis'
 * asynchronous replication; only WAIT prevents it): those are counted and reported, not asserted.
 */
abstract class CounterScenario {

  static final int WRITERS = 4;

  @RegisterExtension
  final RedisHaExtension ha = RedisHaExtension.create(b -> b.labelLag(Duration.ofSeconds(1)));

  /** The application's counter, as its users call it. */
  interface Counter extends AutoCloseable {
    long hit(String page) throws Exception;

    long hits(String page) throws Exception;

    @Override
    void close() throws Exception;
  }

  /** Starts the application under test on {@code t}. */
  abstract Counter start(RedisHaTopology t) throws Exception;

  /** What one writer thread saw: counts acknowledged in order, and calls that failed. */
  private static final class Writer {
    final String page;
    final ConcurrentLinkedQueue<long[]> acks = new ConcurrentLinkedQueue<>(); // {count, nanoTime}
    final AtomicInteger errors = new AtomicInteger();
    final ConcurrentLinkedQueue<String> errorTexts = new ConcurrentLinkedQueue<>();

    Writer(String page) {
      this.page = page;
    }
  }

  @Test
  void countsEveryHitThroughAFailoverALabelMoveAndAKill() throws Exception {
    RedisHaTopology t = ha.topology();
    try (Counter counter = start(t)) {
      List<Writer> writers = new ArrayList<>();
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong acked = new AtomicLong();
      List<Thread> threads = new ArrayList<>();
      for (int w = 0; w < WRITERS; w++) {
        Writer writer = new Writer(getClass().getSimpleName() + "-page-" + w);
        writers.add(writer);
        Thread th = new Thread(() -> {
          while (!stop.get()) {
            try {
              writer.acks.add(new long[] {counter.hit(writer.page), System.nanoTime()});
              acked.incrementAndGet();
            } catch (Exception e) {
              writer.errors.incrementAndGet();
              writer.errorTexts.add(e.toString());
            }
            LockSupport.parkNanos(2_000_000);
          }
        }, "counter-writer-" + w);
        threads.add(th);
        th.start();
      }
      try {
        awaitMoreHits(acked, "before any fault");

        // 1. SENTINEL FAILOVER: the old master keeps accepting writes until Sentinel demotes it.
        RedisProcess first = t.master();
        t.failover();
        RedisProcess second = awaitNewMaster(t, first);
        awaitMoreHits(acked, "on " + second.address() + " after SENTINEL FAILOVER");
        assertThat(errors(writers)).as("calls failed through SENTINEL FAILOVER: %s", errorTexts(writers)).isLessThanOrEqualTo(WRITERS);
        int afterFailover = errors(writers);

        // 2. The master label moves to a replica, with no failover: labels propose, ROLE decides.
        t.awaitHealthy(Duration.ofSeconds(60));
        t.labels().pause();
        int labeled = t.labels().labelReplica();
        awaitMoreHits(acked, "with the label on replica " + t.node(labeled).address());
        RedisProcess agreed = t.awaitAgreedMaster(Duration.ofSeconds(30));
        if (agreed == second) {
          assertThat(errors(writers)).as("calls failed while the label pointed at a replica: %s", errorTexts(writers)).isEqualTo(afterFailover);
        } else { // Sentinel (down-after 1 s) voted a master busy with a resynchronization down: a failover of its own
          System.out.printf("Sentinel failed over by itself during the label move: %s -> %s%n", second.address(), agreed.address());
          assertThat(errors(writers) - afterFailover).isLessThanOrEqualTo(WRITERS);
        }
        int beforeKill = errors(writers);
        t.labels().setLabel(labeled, "false");
        t.labels().setLabel(t.nodeIndex(agreed.address()), "true");
        t.labels().resume();
        RedisProcess victim = t.awaitHealthy(Duration.ofSeconds(60));

        // 3. kill -9 of the master: nothing answers until Sentinel promotes a replica.
        long killedAt = System.nanoTime();
        victim.kill();
        RedisProcess third = awaitNewMaster(t, victim);
        awaitMoreHits(acked, "on " + third.address() + " after kill -9");
        assertThat(errors(writers) - beforeKill).as("calls failed through kill -9: %s", errorTexts(writers)).isLessThanOrEqualTo(WRITERS);

        stop.set(true);
        for (Thread th : threads) {
          th.join(Duration.ofSeconds(30).toMillis());
          assertThat(th.isAlive()).as(th.getName() + " stopped").isFalse();
        }
        long lostToKill = 0;
        long hits = 0;
        for (Writer w : writers) {
          lostToKill += check(w, killedAt);
          long last = w.acks.stream().reduce((a, b) -> b).orElseThrow()[0];
          long now = counter.hits(w.page);
          assertThat(now).as("%s counted at the end vs its last acknowledged count", w.page).isBetween(last, last + w.errors.get());
          hits += w.acks.size();
        }
        System.out.printf("%s: %d hits counted through SENTINEL FAILOVER, a label move and kill -9; %d calls failed; "
            + "%d acknowledged hits lost to kill -9 (asynchronous replication)%n", getClass().getSimpleName(), hits, errors(writers), lostToKill);
      } finally {
        stop.set(true);
      }
    }
  }

  /**
   * Walks one writer's acknowledged counts: every step is +1, or +1..(1 + failures since the last
   * acknowledgement). A fall or a repeat is a lost hit: asserted never to happen before the kill;
   * returns how many hits the kill took.
   */
  private static long check(Writer w, long killedAt) {
    List<long[]> acks = new ArrayList<>(w.acks);
    long lostToKill = 0;
    long jumps = 0;
    for (int i = 1; i < acks.size(); i++) {
      long prev = acks.get(i - 1)[0];
      long now = acks.get(i)[0];
      if (now <= prev) {
        assertThat(acks.get(i)[1]).as("%s: count %d acknowledged after %d (an acknowledged hit lost) before the kill", w.page, now, prev)
            .isGreaterThan(killedAt);
        lostToKill += prev - now + 1;
      } else {
        jumps += now - prev - 1;
      }
    }
    assertThat(jumps).as("%s: hits counted but not acknowledged (each needs a failed call)", w.page).isLessThanOrEqualTo(w.errors.get());
    return lostToKill;
  }

  private static RedisProcess awaitNewMaster(RedisHaTopology t, RedisProcess old) {
    return await().atMost(Duration.ofSeconds(30)).until(() -> t.awaitAgreedMaster(Duration.ofSeconds(30)), m -> m != old);
  }

  /** Waits for 200 more acknowledged hits: the application is counting again. */
  private static void awaitMoreHits(AtomicLong acked, String when) {
    long from = acked.get();
    await().alias("200 more hits counted " + when).atMost(Duration.ofSeconds(20)).until(() -> acked.get() >= from + 200);
  }

  private static int errors(List<Writer> writers) {
    return writers.stream().mapToInt(w -> w.errors.get()).sum();
  }

  private static List<String> errorTexts(List<Writer> writers) {
    return writers.stream().flatMap(w -> w.errorTexts.stream()).toList();
  }
}
