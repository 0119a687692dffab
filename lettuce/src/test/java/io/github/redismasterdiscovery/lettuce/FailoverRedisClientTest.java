package io.github.redismasterdiscovery.lettuce;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.redismasterdiscovery.MasterDiscovery;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.resource.ClientResources;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The client's life cycle, with a discovery whose only node is a closed port: nothing connects. */
class FailoverRedisClientTest {

  static int closedPort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static boolean timerThreadAlive() {
    return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals("rmd-lettuce-timer") && t.isAlive());
  }

  @Test
  void aConnectWithoutAVerifiedMasterFailsAfterTheTimeoutSayingWhy() {
    try (MasterDiscovery d = MasterDiscovery.builder().nodes("127.0.0.1:" + closedPort()).build()) {
      FailoverRedisClient client = FailoverRedisClient.create(d, RedisURI.builder().withHost("x").withTimeout(Duration.ofMillis(300)).build());
      try {
        assertThatThrownBy(client::connect).isInstanceOf(RedisConnectionException.class)
            .hasMessageContaining("no verified Redis master within 300 ms").hasMessageContaining("cannot connect");
      } finally {
        client.shutdown();
      }
    }
  }

  /** Found from the outside: connectSentinel() connected to the Redis master, where every Sentinel command then failed. */
  @Test
  void sentinelConnectionsAreRefusedSayingWhatToUseInstead() {
    try (MasterDiscovery d = MasterDiscovery.builder().nodes("127.0.0.1:" + closedPort()).build()) {
      FailoverRedisClient client = FailoverRedisClient.create(d);
      try {
        RedisURI sentinel = RedisURI.create("redis://127.0.0.1:26379");
        for (org.assertj.core.api.ThrowableAssert.ThrowingCallable call : java.util.List.<org.assertj.core.api.ThrowableAssert.ThrowingCallable>of(
            client::connectSentinel, () -> client.connectSentinel(sentinel), () -> client.connectSentinel(io.lettuce.core.codec.StringCodec.UTF8),
            () -> client.connectSentinel(io.lettuce.core.codec.StringCodec.UTF8, sentinel),
            () -> client.connectSentinelAsync(io.lettuce.core.codec.StringCodec.UTF8, sentinel))) {
          assertThatThrownBy(call).isInstanceOf(UnsupportedOperationException.class)
              .hasMessageContaining("connects to the Redis master only").hasMessageContaining("plain RedisClient");
        }
      } finally {
        client.shutdown();
      }
    }
  }

  @Test
  void shutdownEndsItsTimerThreadAndLeavesTheApplicationsResourcesRunning() {
    ClientResources shared = ClientResources.create();
    try (MasterDiscovery d = MasterDiscovery.builder().nodes("127.0.0.1:" + closedPort()).build()) {
      FailoverRedisClient own = FailoverRedisClient.create(d);
      FailoverRedisClient onShared = FailoverRedisClient.create(d, RedisURI.create("redis://x"), shared);
      own.getResources().timer().newTimeout(t -> { }, 1, TimeUnit.HOURS); // the timer's thread starts with its first task
      onShared.getResources().timer().newTimeout(t -> { }, 1, TimeUnit.HOURS);
      assertThat(timerThreadAlive()).isTrue();
      own.shutdown();
      onShared.shutdown();
      await().atMost(Duration.ofSeconds(5)).until(() -> !timerThreadAlive());
      assertThat(shared.eventExecutorGroup().isShuttingDown()).as("the application's resources are the application's").isFalse();
    } finally {
      shared.shutdown();
    }
  }
}
