package io.github.redismasterdiscovery;

import java.util.Objects;

/**
 * What a client integration outside this package (such as {@code rmd-lettuce}) needs to follow the
 * master the way this library's own Jedis pools do: the write fence, the generation whose
 * connections may send, and the "re-check now, and let me wait for the verdict" signal. Not for
 * applications; it may change before 1.0.
 *
 * <p>Every method is a thin call into the discovery; none blocks.
 */
public final class FollowerHooks {

  private final MasterDiscovery discovery;

  private FollowerHooks(MasterDiscovery discovery) {
    this.discovery = discovery;
  }

  /** The hooks of {@code discovery}. */
  public static FollowerHooks of(MasterDiscovery discovery) {
    return new FollowerHooks(Objects.requireNonNull(discovery, "discovery"));
  }

  /** The discovery these hooks belong to. */
  public MasterDiscovery discovery() {
    return discovery;
  }

  /**
   * The generation ({@link MasterSnapshot#generation()}) whose connections may send without asking
   * anything else, or -1 while a write fence holds the current master (Sentinel is promoting a replica
   * away from it). One volatile read.
   */
  public long openGeneration() {
    return discovery.openGeneration();
  }

  /**
   * A client saw the master misbehave (a connection refused or broken, {@code READONLY}): re-check
   * now. Returns at once; {@link #roundsCompleted()} moves on when rounds complete.
   */
  public void doubt() {
    discovery.doubt();
  }

  /**
   * Evaluation rounds completed so far. A round that completes two rounds after a {@link #doubt()}
   * started after it, so its decision has seen whatever made the client doubt.
   */
  public long roundsCompleted() {
    return discovery.roundsCompleted();
  }

  /**
   * Adds a follower: told of every change of the master's identity (a new generation, including to
   * and from no master), on the thread that tells the library's own pools, before the application's
   * listeners. The same contract as {@link MasterListener}: fast, non-blocking.
   */
  public void addFollower(MasterListener follower) {
    discovery.addFollower(Objects.requireNonNull(follower, "follower"));
  }

  /** Removes a follower added earlier; no effect if absent. */
  public void removeFollower(MasterListener follower) {
    discovery.removeFollower(follower);
  }
}
