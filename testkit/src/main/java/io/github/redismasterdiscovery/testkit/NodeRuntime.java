package io.github.redismasterdiscovery.testkit;

import java.nio.file.Path;

/**
 * Where a {@link RedisProcess}'s {@code redis-server} runs: a local process, or a container. Everything
 * else about a node (its address, configuration file, log, the topology around it) is the same for both,
 * so the topology, its fault handles and its checks are written once.
 */
interface NodeRuntime {

  /**
   * Starts {@code redis-server <configFile>} (with {@code --sentinel} for a Sentinel). {@code dir} is the
   * node's own folder (configuration, log); {@code shared} the topology's folder around it (TLS material).
   * Returns at once; the caller waits for the port.
   */
  Running start(String name, Path shared, Path dir, Path configFile, boolean sentinel);

  /** What the pods of the Kubernetes mock show as their container image. */
  String image();

  /** One started server. Calls are serialized by its {@link RedisProcess}. */
  interface Running {

    /** Whether it still runs (a frozen one does). */
    boolean isAlive();

    /** Its operating-system pid as the host sees it, or -1. */
    long pid();

    /** SIGKILL, waiting for the end. */
    void kill();

    /** SIGTERM, waiting for the end (a forced kill after 10 s). */
    void stop();

    /** Freezes it: sockets stay open, nothing answers. */
    void freeze();

    /** Thaws a frozen one. */
    void unfreeze();

    /** How it ended, for failure messages. */
    String exitDescription();
  }
}
