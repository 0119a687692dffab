package io.github.redismasterdiscovery.testkit;

import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.HostAndPort;

/**
 * Mirrors Sentinel's master into pod labels the way the Bitnami chart's {@code update-master-label.sh}
 * does: when the Sentinel majority names a new master, that pod gets {@code <label>=true} and the
 * previous master's pod {@code <label>=false}; other pods are left as they are.
 *
 * <p>Like the real script it acts only when the master changes, after a configurable {@linkplain
 * #setLag lag}; a write that fails (API down) is retried until it lands. The fault methods change
 * labels behind its back, and it does not repair them until the next master change.
 */
public final class MasterLabelUpdater implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(MasterLabelUpdater.class);

  private final RedisHaTopology topology;
  private final KubernetesClient client;
  private final String labelKey;
  private final ScheduledExecutorService ticker;
  private final SentinelQuery sentinels;

  private volatile Duration lag;
  private volatile boolean paused;
  private HostAndPort observed;
  private long observedAtNanos;
  private HostAndPort applied;
  private boolean dropNext;
  private long updates;

  MasterLabelUpdater(RedisHaTopology topology, KubernetesClient client, String labelKey, Duration lag) {
    this.topology = topology;
    this.client = client;
    this.labelKey = labelKey;
    this.lag = lag;
    this.sentinels = new SentinelQuery(topology.sentinels(), topology.sentinelClientConfig(), topology.masterName());
    this.ticker = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "rmd-testkit-label-updater");
      t.setDaemon(true);
      return t;
    });
  }

  void start(HostAndPort initialMaster) {
    synchronized (this) {
      observed = initialMaster;
      applied = initialMaster;
      setLabel(topology.nodeIndex(initialMaster), "true");
    }
    ticker.scheduleWithFixedDelay(this::tick, 10, 10, TimeUnit.MILLISECONDS);
  }

  /** The label key this updater writes, such as {@code isMaster}. */
  public String labelKey() {
    return labelKey;
  }

  /** How long after Sentinel names a new master the labels move; {@link Duration#ZERO} for at once. */
  public void setLag(Duration lag) {
    if (lag == null || lag.isNegative()) {
      throw new IllegalArgumentException("lag must be zero or positive, was " + lag);
    }
    this.lag = lag;
  }

  /** Stops reacting to Sentinel until {@link #resume()}; faults still work. */
  public void pause() {
    paused = true;
  }

  /** Reacts to Sentinel again, catching up with a change seen while paused. */
  public void resume() {
    paused = false;
  }

  /** The next master change is silently not written to the labels (a lost script run). */
  public synchronized void dropNextUpdate() {
    dropNext = true;
  }

  /** Labels the current master and one replica as master at once. */
  public synchronized void labelTwoPods() {
    int master = topology.nodeIndex(applied);
    setLabel(master, "true");
    setLabel(firstOther(master), "true");
  }

  /** Sets the label to false on every pod: no pod is labeled master. */
  public synchronized void labelNone() {
    for (int i = 0; i < topology.nodes().size(); i++) {
      setLabel(i, "false");
    }
  }

  /** Moves the master label to a replica: the labeled pod is not the master. Returns its index. */
  public synchronized int labelReplica() {
    int master = topology.nodeIndex(applied);
    int replica = firstOther(master);
    setLabel(replica, "true");
    setLabel(master, "false");
    return replica;
  }

  /** Sets the label on node {@code index}'s pod to {@code value} ("true", "false"), at once. */
  public synchronized void setLabel(int index, String value) {
    String pod = topology.podName(index);
    client.pods().inNamespace(topology.kubernetes().namespace()).withName(pod)
        .edit(p -> new PodBuilder(p).editMetadata().addToLabels(labelKey, value).endMetadata().build());
  }

  /** The master this updater last wrote to the labels (or dropped on purpose). */
  public synchronized HostAndPort appliedMaster() {
    return applied;
  }

  /** How many master changes it has written so far. */
  public synchronized long updates() {
    return updates;
  }

  private int firstOther(int index) {
    return (index + 1) % topology.nodes().size();
  }

  private void tick() {
    try {
      HostAndPort majority = paused ? null : sentinels.majority();
      synchronized (this) {
        if (majority != null && !majority.equals(observed)) {
          observed = majority;
          observedAtNanos = System.nanoTime();
        }
        if (observed == null || observed.equals(applied) || System.nanoTime() - observedAtNanos < lag.toNanos()) {
          return;
        }
        if (dropNext) {
          dropNext = false;
          log.info("label update to {} dropped on purpose", observed);
          applied = observed;
          return;
        }
        int next = topology.nodeIndex(observed);
        int previous = topology.nodeIndex(applied);
        setLabel(next, "true");
        setLabel(previous, "false");
        log.info("labels moved: {}={} on {}, false on {}", labelKey, "true", topology.podName(next), topology.podName(previous));
        applied = observed;
        updates++;
      }
    } catch (RuntimeException e) {
      log.debug("label update failed, retrying: {}", e.toString());
    }
  }

  @Override
  public void close() {
    ticker.shutdownNow();
    try {
      ticker.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    sentinels.close();
  }
}
