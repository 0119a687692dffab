package io.github.redismasterdiscovery.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Nodes as child processes of this JVM, from {@link RedisBinary#locate()}; SIGSTOP freezes them. */
final class LocalProcesses implements NodeRuntime {

  static final LocalProcesses INSTANCE = new LocalProcesses();

  private LocalProcesses() {}

  @Override
  public String image() {
    return "redis:7";
  }

  @Override
  public Running start(String name, Path shared, Path dir, Path configFile, boolean sentinel) {
    List<String> command = new ArrayList<>(List.of(RedisBinary.locate().toString(), configFile.toString()));
    if (sentinel) {
      command.add("--sentinel");
    }
    Process process;
    try {
      process = new ProcessBuilder(command)
          .directory(dir.toFile())
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("stdout.log").toFile()))
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + name + ": " + command, e);
    }
    ProcessReaper.register(process);
    return new Local(name, process);
  }

  @Override
  public String toString() {
    return "local processes";
  }

  private static final class Local implements Running {
    private final String name;
    private final Process process;

    Local(String name, Process process) {
      this.name = name;
      this.process = process;
    }

    @Override
    public boolean isAlive() {
      return process.isAlive();
    }

    @Override
    public long pid() {
      return process.isAlive() ? process.pid() : -1;
    }

    @Override
    public void kill() {
      process.destroyForcibly();
      awaitExit();
    }

    @Override
    public void stop() {
      process.destroy();
      awaitExit();
    }

    @Override
    public void freeze() {
      signal("STOP");
    }

    @Override
    public void unfreeze() {
      signal("CONT");
    }

    @Override
    public String exitDescription() {
      return process.isAlive() ? "still runs" : "exited with " + process.exitValue();
    }

    private void awaitExit() {
      try {
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      ProcessReaper.unregister(process);
    }

    private void signal(String signal) {
      try {
        Process kill = new ProcessBuilder("sh", "-c", "kill -" + signal + " " + process.pid()).redirectErrorStream(true).start();
        if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
          throw new IllegalStateException("kill -" + signal + " " + process.pid() + " failed: " + new String(kill.getInputStream().readAllBytes()));
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot run kill -" + signal, e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while sending SIG" + signal + " to " + name, e);
      }
    }
  }
}
