package io.github.redismasterdiscovery;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;

/**
 * Every configured Sentinel at once, through the JVM's shared links ({@link SentinelLinks}): each
 * Sentinel's latest answer for our master set, and its failover progress, which the discovery acts
 * on at once (see {@link FailoverSignals}).
 *
 * <p>A Sentinel's opinion counts while its subscription is live. The majority is over the
 * configured Sentinels, not the reachable ones: 1 of 3 is no majority.
 */
final class SentinelSource implements Source, SentinelLinks.User {

  private static final Logger log = LoggerFactory.getLogger(SentinelSource.class);

  /** What the discovery does with a Sentinel's failover progress. */
  interface FailoverSignals {
    /** The leader is promoting {@code candidate} away from {@code master}. */
    void promotionStarting(HostAndPort master, HostAndPort candidate);

    /** The failover from {@code master} was aborted or timed out. */
    void promotionAborted(HostAndPort master);

    /** The Sentinels agree {@code master} is down ({@code +odown}). */
    void masterDown(HostAndPort master);
  }

  private final String masterName;
  private final List<HostAndPort> addresses;
  private final int configured;
  private final JedisClientConfig config;
  private final Duration timeout;
  private final Duration heartbeat;
  private final SharedRuntime runtime;
  private final Events events;
  private final FailoverSignals signals;
  private final AddressTranslator translator;
  private final Warnings warnings;
  private final Map<HostAndPort, LinkView> views = new LinkedHashMap<>();
  private final List<SentinelLinks.Link> links = new ArrayList<>();

  /** What this discovery knows of one Sentinel. */
  private static final class LinkView {
    volatile HostAndPort opinion;
    volatile boolean subscribed;
    volatile String error;
    volatile boolean errorMisconfigured;
    volatile String answerError;
    volatile boolean answerMisconfigured;

    /** This Sentinel's configuration error (credentials, an unknown master set), or null. */
    String misconfiguration() {
      if (!subscribed) {
        String e = error;
        return errorMisconfigured ? e : null;
      }
      String a = answerError;
      return answerMisconfigured ? a : null;
    }
  }

  /**
   * @param sentinels the Sentinels watched: every configured one, or the subset of
   *     {@code sentinelSubscriptions}; the majority is counted over them
   * @param configured how many Sentinels were configured (for health: "2 of 5 watched")
   */
  SentinelSource(List<HostAndPort> sentinels, int configured, String masterName, JedisClientConfig config, Duration timeout,
      Duration heartbeat, SharedRuntime runtime, Events events, FailoverSignals signals, AddressTranslator translator, Warnings warnings) {
    this.masterName = masterName;
    this.addresses = List.copyOf(sentinels);
    this.configured = configured;
    this.config = config;
    this.timeout = timeout;
    this.heartbeat = heartbeat;
    this.runtime = runtime;
    this.events = events;
    this.signals = signals;
    this.translator = translator;
    this.warnings = warnings;
    for (HostAndPort a : sentinels) {
      views.put(a, new LinkView());
    }
  }

  @Override
  public SourceKind kind() {
    return SourceKind.SENTINEL;
  }

  @Override
  public String masterName() {
    return masterName;
  }

  @Override
  public void start() {
    for (HostAndPort a : addresses) {
      links.add(SentinelLinks.acquire(a, config, timeout, heartbeat, runtime, this));
    }
  }

  /** Asks every subscribed Sentinel again, off the caller's thread. */
  void refresh() {
    for (SentinelLinks.Link link : links) {
      if (views.get(link.address).subscribed) {
        link.refresh(masterName);
      }
    }
  }

  @Override
  public void opinion(HostAndPort sentinel, HostAndPort master, String error, boolean misconfigured) {
    LinkView v = views.get(sentinel);
    if (v == null) {
      return;
    }
    v.answerMisconfigured = misconfigured;
    v.answerError = error;
    if (error != null) {
      warnings.warn(log, "sentinel:" + sentinel + ":" + error, "Sentinel {}: {}", sentinel, error);
      events.changed();
      return;
    }
    HostAndPort before = v.opinion;
    v.opinion = master; // as announced: translated when read, so a moved load balancer is followed
    if (!master.equals(before)) {
      log.debug("Sentinel {} names {} for {}", sentinel, master, masterName);
      propose(master, "Sentinel " + sentinel + " names it");
      events.changed();
    }
  }

  @Override
  public void event(HostAndPort sentinel, SentinelLinks.SentinelEvent e) {
    log.debug("Sentinel {}: {} {} (master {})", sentinel, e.channel(), e.instance(), e.master());
    HostAndPort master = translator.translate(e.master());
    if (e.isPromotionStarting() || "+promoted-slave".equals(e.channel())) {
      HostAndPort candidate = translator.translate(e.instance());
      if (master != null && candidate != null) {
        signals.promotionStarting(master, candidate);
      }
      if (!"+failover-state-send-slaveof-noone".equals(e.channel())) { // sent with +selected-slave, in the same instant
        propose(e.instance(), "Sentinel " + sentinel + " " + e.channel());
      }
    } else if (e.isAbort()) {
      if (master != null) {
        signals.promotionAborted(master);
      }
      events.changed();
    } else if (e.isMasterDown()) {
      if (master != null) {
        signals.masterDown(master);
      }
    } else if ("+failover-end-for-timeout".equals(e.channel())) {
      events.changed(); // the promotion happened; only the replicas' reconfiguration timed out: the fence stays, a round decides
    }
  }

  /** Proposes what a Sentinel announced, as reached from here; an address with no translation is never contacted. */
  private void propose(HostAndPort announced, String why) {
    HostAndPort candidate = translator.translate(announced);
    if (candidate != null) {
      events.proposed(candidate, SourceKind.SENTINEL, why);
    } else {
      log.debug("{}: {} cannot be reached from here ({})", why, announced, translator.whyNot(announced));
    }
  }

  @Override
  public void state(HostAndPort sentinel, boolean subscribed, String error, boolean misconfigured) {
    LinkView v = views.get(sentinel);
    if (v == null) {
      return;
    }
    boolean changed = v.subscribed != subscribed || (error != null && !error.equals(v.error));
    if (error != null) {
      v.errorMisconfigured = misconfigured;
      v.error = error;
    } else if (subscribed) {
      v.errorMisconfigured = false;
      v.error = null;
    }
    v.subscribed = subscribed;
    if (changed) {
      if (!subscribed && error != null) {
        warnings.warn(log, "sentinel:" + sentinel + ":" + error, "Sentinel {}: {}", sentinel, error);
      }
      events.changed();
    }
  }

  @Override
  public List<HostAndPort> candidates() {
    Map<HostAndPort, Integer> votes = votes();
    return votes.entrySet().stream()
        .sorted(Map.Entry.<HostAndPort, Integer>comparingByValue(Comparator.reverseOrder()))
        .map(Map.Entry::getKey)
        .collect(Collectors.toList());
  }

  /**
   * Whether a subscribed Sentinel names another master than {@code master} (or none is proven): the
   * only case in which asking the Sentinels again can teach anything their announcements did not.
   */
  boolean disagreesWith(HostAndPort master) {
    for (LinkView v : views.values()) {
      HostAndPort opinion = v.opinion;
      if (v.subscribed && (master == null || opinion == null || !master.equals(translator.translate(opinion)))) {
        return true;
      }
    }
    return false;
  }

  /** The master named by more than half of the configured Sentinels, or null. */
  HostAndPort majority() {
    for (Map.Entry<HostAndPort, Integer> e : votes().entrySet()) {
      if (e.getValue() > addresses.size() / 2) {
        return e.getKey();
      }
    }
    return null;
  }

  /** Votes per master as reached from here; a named master with no translation gets none (health says why). */
  private Map<HostAndPort, Integer> votes() {
    Map<HostAndPort, Integer> votes = new HashMap<>();
    for (LinkView v : views.values()) {
      HostAndPort opinion = v.opinion;
      HostAndPort reachable = opinion == null ? null : translator.translate(opinion);
      if (v.subscribed && v.answerError == null && reachable != null) {
        votes.merge(reachable, 1, Integer::sum);
      }
    }
    return votes;
  }

  @Override
  public Health health() {
    List<String> down = new ArrayList<>();
    views.forEach((address, v) -> {
      String answerError = v.answerError;
      if (!v.subscribed) {
        down.add(address + ": " + (answerError == null ? "" : answerError + "; then ") + (v.error == null ? "connecting" : v.error));
      } else if (answerError != null) {
        down.add(address + ": " + answerError);
      }
    });
    if (down.isEmpty()) {
      HostAndPort majority = majority();
      if (majority != null) {
        return Health.up("majority names " + majority + watching());
      }
      List<String> unreachable = new ArrayList<>();
      views.forEach((address, v) -> {
        String why = v.opinion == null ? null : translator.whyNot(v.opinion);
        if (why != null) {
          unreachable.add(address + " names " + v.opinion + ", which cannot be reached from here: " + why);
        }
      });
      return Health.up(unreachable.isEmpty() ? "no majority names a master yet" : String.join("; ", unreachable));
    }
    // Links still connecting for the first time are not failures yet.
    boolean starting = views.values().stream().noneMatch(v -> v.error != null || v.answerError != null);
    SourceState.Status status = starting ? SourceState.Status.STARTING
        : down.size() == views.size() ? SourceState.Status.DOWN : SourceState.Status.DEGRADED;
    return new Health(status, String.join("; ", down));
  }

  /** How many Sentinels this discovery watches, when not all: appended to health details. */
  private String watching() {
    return addresses.size() == configured ? "" : " (watching " + addresses + ", " + addresses.size() + " of " + configured + " Sentinels)";
  }

  /**
   * Every configured Sentinel answers with a configuration error (credentials, permissions, an
   * unknown master set): the same error once, or each Sentinel's; null while any Sentinel is fine,
   * unreachable or not yet asked. Thread-safe.
   */
  @Override
  public String misconfiguration() {
    Map<String, List<HostAndPort>> byError = new LinkedHashMap<>();
    for (Map.Entry<HostAndPort, LinkView> e : views.entrySet()) {
      String why = e.getValue().misconfiguration();
      if (why == null) {
        return null;
      }
      byError.computeIfAbsent(why, k -> new ArrayList<>()).add(e.getKey());
    }
    if (byError.size() == 1) {
      String why = byError.keySet().iterator().next();
      return (views.size() == 1 ? "Sentinel " + addresses.get(0) : "every Sentinel (" + addresses.size() + ")") + ": " + why;
    }
    return byError.entrySet().stream().map(e -> "Sentinel " + e.getValue().stream().map(HostAndPort::toString)
        .collect(Collectors.joining(", ")) + ": " + e.getKey()).collect(Collectors.joining("; "));
  }

  @Override
  public void close() {
    for (SentinelLinks.Link link : links) {
      SentinelLinks.release(link, this);
    }
    links.clear();
  }
}
