package io.github.redismasterdiscovery.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes sure no {@code redis-server} outlives the JVM that started it.
 *
 * <p>Two mechanisms: a shutdown hook kills every live process on a normal or signalled exit; and,
 * because a JVM killed with SIGKILL runs no hook, every started process is also recorded as a pid
 * file under a per-JVM folder. The first testkit use in any later JVM kills the processes recorded
 * by JVMs that are gone.
 */
final class ProcessReaper {

  private static final Logger log = LoggerFactory.getLogger(ProcessReaper.class);
  private static final Path ROOT = Path.of(System.getProperty("java.io.tmpdir"), "rmd-testkit");
  private static final Set<Process> live = ConcurrentHashMap.newKeySet();
  private static final Path ownDir;

  static {
    try {
      Files.createDirectories(ROOT);
      reapOrphans();
      ownDir = Files.createDirectories(ROOT.resolve("jvm-" + ProcessHandle.current().pid()));
    } catch (IOException e) {
      throw new ExceptionInInitializerError(e);
    }
    Thread hook = new Thread(ProcessReaper::killAll, "rmd-testkit-reaper");
    Runtime.getRuntime().addShutdownHook(hook);
  }

  private ProcessReaper() {}

  static void register(Process process) {
    live.add(process);
    try {
      Files.writeString(ownDir.resolve(process.pid() + ".pid"), Long.toString(process.pid()), StandardCharsets.US_ASCII);
    } catch (IOException e) {
      log.warn("cannot record pid {} for orphan reaping: {}", process.pid(), e.toString());
    }
  }

  static void unregister(Process process) {
    live.remove(process);
    try {
      Files.deleteIfExists(ownDir.resolve(process.pid() + ".pid"));
    } catch (IOException e) {
      log.debug("cannot delete pid file of {}", process.pid(), e);
    }
  }

  static void killAll() {
    for (Process p : live) {
      p.destroyForcibly();
    }
    for (Process p : live) {
      try {
        p.onExit().get(5, java.util.concurrent.TimeUnit.SECONDS);
      } catch (Exception e) {
        // exiting anyway; the next JVM's reaper catches what is left
      }
      unregister(p);
    }
  }

  private static void reapOrphans() throws IOException {
    try (DirectoryStream<Path> owners = Files.newDirectoryStream(ROOT, "jvm-*")) {
      for (Path owner : owners) {
        long ownerPid = Long.parseLong(owner.getFileName().toString().substring(4));
        if (ProcessHandle.of(ownerPid).map(ProcessHandle::isAlive).orElse(false)) {
          continue;
        }
        try (DirectoryStream<Path> pids = Files.newDirectoryStream(owner, "*.pid")) {
          for (Path pidFile : pids) {
            long pid = Long.parseLong(Files.readString(pidFile).trim());
            Optional<ProcessHandle> handle = ProcessHandle.of(pid);
            boolean isRedis = handle.flatMap(h -> h.info().command()).map(c -> c.contains("redis")).orElse(false);
            if (isRedis) {
              log.warn("killing orphan redis-server pid {} left by dead JVM {}", pid, ownerPid);
              handle.get().destroyForcibly();
            }
            Files.deleteIfExists(pidFile);
          }
        }
        Files.deleteIfExists(owner);
      }
    } catch (RuntimeException e) {
      log.warn("orphan reaping skipped: {}", e.toString());
    }
  }
}
