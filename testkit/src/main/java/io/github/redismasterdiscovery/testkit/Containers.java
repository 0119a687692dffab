package io.github.redismasterdiscovery.testkit;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.output.OutputFrame;
import org.testcontainers.containers.wait.strategy.AbstractWaitStrategy;
import org.testcontainers.utility.DockerImageName;

/**
 * Nodes as Testcontainers containers on the host's network ({@code --network host}): each server binds
 * its own loopback address and port exactly as a local process would, so what Sentinels and replicas
 * announce is what this JVM reaches, with no port mapping. The node's folder is mounted at the same path
 * inside, so configuration, Sentinel's rewrites of it, and the log stay on the host.
 *
 * <p>The server runs as the owner of that folder (so an image whose entrypoint would switch to its own
 * {@code redis} user, as the official images do, can still write there); the image's entrypoint is
 * replaced by the server command. A container killed or stopped is removed, and {@code start()} runs a
 * new one on the same folder: a pod restarted with its volume. Every container carries the label
 * {@value #LABEL}, and a shutdown hook removes those still running (Ryuk, Testcontainers' own reaper,
 * needs an image from a registry, so it is usually disabled where this runs).
 */
final class Containers implements NodeRuntime {

  /** The label on every container this testkit starts; {@code docker rm -f $(docker ps -aq --filter label=...)} cleans up. */
  static final String LABEL = "io.github.redismasterdiscovery.testkit";

  private static final Logger log = LoggerFactory.getLogger(Containers.class);
  private static final Set<String> live = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(Containers::removeAll, "rmd-testkit-container-reaper"));
  }

  private final String image;
  private final String serverCommand;
  private volatile boolean checked;

  Containers(String image, String serverCommand) {
    this.image = image;
    this.serverCommand = serverCommand;
  }

  @Override
  public String image() {
    return image;
  }

  @Override
  public Running start(String name, Path shared, Path dir, Path configFile, boolean sentinel) {
    DockerClient docker = docker();
    String user;
    try {
      user = Files.getAttribute(dir, "unix:uid") + ":" + Files.getAttribute(dir, "unix:gid");
    } catch (IOException | UnsupportedOperationException e) {
      user = null; // no POSIX owner to take (Windows): the image's own user
    }
    String runAs = user;
    Path stdout = dir.resolve("stdout.log");
    String[] command = sentinel ? new String[] { configFile.toString(), "--sentinel" } : new String[] { configFile.toString() };
    GenericContainer<?> container = new GenericContainer<>(DockerImageName.parse(image))
        .withNetworkMode("host")
        .withFileSystemBind(shared.toString(), shared.toString(), BindMode.READ_WRITE)
        .withCreateContainerCmdModifier(cmd -> {
          cmd.withEntrypoint(serverCommand).withName("rmd-" + name + "-" + Long.toHexString(System.nanoTime()));
          if (runAs != null) {
            cmd.withUser(runAs);
          }
        })
        .withCommand(command)
        .withLabel(LABEL, "true")
        .withLogConsumer(frame -> append(stdout, frame))
        .withStartupAttempts(1)
        .waitingFor(new AbstractWaitStrategy() {
          @Override
          protected void waitUntilReady() {
            // RedisProcess waits for the port itself, the same way for processes and containers
          }
        });
    container.start();
    String id = container.getContainerId();
    live.add(id);
    return new InContainer(docker, container, id);
  }

  @Override
  public String toString() {
    return "containers of " + image;
  }

  /** The Docker client, once checked to answer and to have the image; fails loudly otherwise. */
  private DockerClient docker() {
    DockerClientFactory factory = DockerClientFactory.instance();
    if (!factory.isDockerAvailable()) {
      throw new IllegalStateException("no Docker engine answers, so the container topology cannot start. Start one (this project's CI: "
          + ".ci/docker-up), or use the process topology (RedisHaTopology.builder() without containers(...)). Where the engine "
          + "runs without a bridge network, set TESTCONTAINERS_HOST_OVERRIDE=localhost; where no registry is reachable, "
          + "TESTCONTAINERS_RYUK_DISABLED=true and TESTCONTAINERS_CHECKS_DISABLE=true");
    }
    DockerClient docker = factory.client();
    if (!checked) {
      try {
        docker.inspectImageCmd(image).exec();
      } catch (NotFoundException e) {
        if (image.startsWith("local/")) {
          throw new IllegalStateException("image " + image + " is not in the local Docker engine and is built, not pulled: "
              + "build it first (this project: .ci/docker-up)", e);
        }
        log.info("image {} not present locally; Testcontainers will pull it", image);
      }
      checked = true;
    }
    return docker;
  }

  private static void append(Path file, OutputFrame frame) {
    byte[] bytes = frame.getBytes();
    if (bytes == null) {
      return;
    }
    try {
      Files.write(file, bytes, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void removeAll() {
    if (live.isEmpty()) {
      return;
    }
    DockerClient docker = DockerClientFactory.lazyClient();
    for (String id : live) {
      try {
        docker.removeContainerCmd(id).withForce(true).withRemoveVolumes(true).exec();
      } catch (RuntimeException e) {
        // already gone, or the engine is: nothing more to do at exit
      }
    }
  }

  private static final long STATE_TTL_NANOS = 250_000_000L;

  private static final class InContainer implements Running {
    private final DockerClient docker;
    private final GenericContainer<?> container;
    private final String id;
    private volatile boolean removed;
    private volatile boolean running = true;
    private volatile long checkedAtNanos = System.nanoTime();

    InContainer(DockerClient docker, GenericContainer<?> container, String id) {
      this.docker = docker;
      this.container = container;
      this.id = id;
    }

    /**
     * Asked before every Sentinel query (the label updater alone asks every 10 ms), so the engine is asked at
     * most every {@link #STATE_TTL_NANOS}: kill and stop are known at once, only a server that dies by
     * itself is seen up to that much later.
     */
    @Override
    public boolean isAlive() {
      if (removed) {
        return false;
      }
      long now = System.nanoTime();
      if (now - checkedAtNanos > STATE_TTL_NANOS) {
        try {
          running = Boolean.TRUE.equals(docker.inspectContainerCmd(id).exec().getState().getRunning());
        } catch (NotFoundException e) {
          running = false;
        }
        checkedAtNanos = now;
      }
      return running;
    }

    @Override
    public long pid() {
      if (removed) {
        return -1;
      }
      try {
        Long pid = docker.inspectContainerCmd(id).exec().getState().getPidLong();
        return pid == null || pid == 0 ? -1 : pid;
      } catch (NotFoundException e) {
        return -1;
      }
    }

    @Override
    public void kill() {
      try {
        docker.killContainerCmd(id).withSignal("KILL").exec();
      } catch (RuntimeException e) {
        // not running any more (exited, or already removed)
      }
      remove();
    }

    @Override
    public void stop() {
      try {
        docker.stopContainerCmd(id).withTimeout(10).exec();
      } catch (RuntimeException e) {
        // not running any more
      }
      remove();
    }

    @Override
    public void freeze() {
      docker.pauseContainerCmd(id).exec();
    }

    @Override
    public void unfreeze() {
      docker.unpauseContainerCmd(id).exec();
    }

    @Override
    public String exitDescription() {
      try {
        var state = docker.inspectContainerCmd(id).exec().getState();
        return "container " + id.substring(0, 12) + " " + state.getStatus() + ", exit code " + state.getExitCodeLong()
            + (state.getError() == null || state.getError().isEmpty() ? "" : ", " + state.getError());
      } catch (RuntimeException e) {
        return "container " + id.substring(0, 12) + " is gone";
      }
    }

    private void remove() {
      if (removed) {
        return;
      }
      removed = true;
      try {
        container.stop(); // stops the log follower and removes the container
      } catch (RuntimeException e) {
        log.debug("removing container {}: {}", id, e.toString());
      }
      live.remove(id);
    }
  }
}
