package io.github.redismasterdiscovery.lettuce;

import java.net.InetSocketAddress;

/**
 * The master's socket address as the follower resolved it, with the discovery generation it was
 * verified in: the gate on the channel that connects to it learns its generation from here, so a
 * switch between resolving and connecting cannot tag a channel to the old master as new.
 */
final class MasterAddress extends InetSocketAddress {

  private static final long serialVersionUID = 1L;

  private final transient MasterGate.Follower follower;
  private final long generation;

  MasterAddress(String host, int port, long generation, MasterGate.Follower follower) {
    super(host, port); // resolves a host name here, as Lettuce's own resolver does
    this.generation = generation;
    this.follower = follower;
  }

  long generation() {
    return generation;
  }

  MasterGate.Follower follower() {
    return follower;
  }
}
