package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.CommandArguments;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Protocol;

/** The settings of replica reads, and which commands may go to a replica. */
class ReplicaReadsTest {

  @Test
  void defaultsAreFiveSecondsCheckedFourTimesWithin() {
    ReplicaReads reads = ReplicaReads.from(ReadFrom.REPLICA_PREFERRED);
    assertThat(reads.maxStaleness()).isEqualTo(Duration.ofSeconds(5));
    assertThat(reads.checkInterval()).as("under one ROLE a second per pod").isEqualTo(Duration.ofMillis(1_250));
    assertThat(reads.maxStaleness(Duration.ofSeconds(2)).checkInterval()).isEqualTo(Duration.ofMillis(500));
    assertThat(reads.toString()).isEqualTo("ReplicaReads{readFrom=REPLICA_PREFERRED, maxStaleness=PT5S, checkInterval=PT1.25S}");
  }

  @Test
  void badSettingsAreRefusedNamingTheValueAndTheFix() {
    ReplicaReads reads = ReplicaReads.from(ReadFrom.REPLICA);
    assertThatThrownBy(() -> reads.maxStaleness(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxStaleness must be positive, was PT0S: use ReadFrom.MASTER for reads that must see every acknowledged write");
    assertThatThrownBy(() -> reads.checkInterval(Duration.ofMillis(-1))).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("checkInterval must be positive, was PT-0.001S");
    assertThatThrownBy(() -> reads.checkInterval(Duration.ofSeconds(5))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("checkInterval PT5S must be shorter than maxStaleness PT5S");
    ReplicaReads everySecond = reads.maxStaleness(Duration.ofSeconds(5)).checkInterval(Duration.ofSeconds(1));
    assertThatThrownBy(() -> everySecond.maxStaleness(Duration.ofMillis(500))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("checkInterval PT1S must be shorter than maxStaleness PT0.5S");
    assertThatThrownBy(() -> ReplicaReads.from(null)).isInstanceOf(NullPointerException.class).hasMessage("readFrom");
  }

  @Test
  void aReplicasMasterIsOursByAddressOrByWhatItsNameResolvesTo() {
    assertThat(ReplicaSet.sameNode(new HostAndPort("10.0.0.5", 6379), new HostAndPort("10.0.0.5", 6379))).isTrue();
    assertThat(ReplicaSet.sameNode(new HostAndPort("127.0.0.1", 6379), new HostAndPort("localhost", 6379))).isTrue();
    assertThat(ReplicaSet.sameNode(new HostAndPort("127.0.0.1", 6379), new HostAndPort("localhost", 6380))).isFalse();
    assertThat(ReplicaSet.sameNode(new HostAndPort("127.0.0.1", 6379), new HostAndPort("127.0.0.2", 6379))).isFalse();
    assertThat(ReplicaSet.sameNode(new HostAndPort("127.0.0.1", 6379), new HostAndPort("no-such-host.invalid", 6379))).isFalse();
    assertThat(ReplicaSet.sameNode(new HostAndPort("127.0.0.1", 6379), null)).isFalse();
  }

  @Test
  void roundTripsAreAMovingAverageStartingFromTheFirstSample() {
    assertThat(ReplicaSet.average(Long.MAX_VALUE, 500)).isEqualTo(500);
    assertThat(ReplicaSet.average(1_000, 2_000)).isEqualTo(1_300);
    long settled = 20_000_000;
    for (int i = 0; i < 20; i++) {
      settled = ReplicaSet.average(settled, 100_000); // a path that got faster: the average follows within a few checks
    }
    assertThat(settled).isLessThan(200_000);
  }

  @Test
  void onlyKeyReadsGoToReplicas() {
    assertThat(Commands.isReplicaRead(new CommandArguments(Protocol.Command.GET).key("k"))).isTrue();
    assertThat(Commands.isReplicaRead(new CommandArguments(Protocol.Command.HGETALL).key("k"))).isTrue();
    assertThat(Commands.isReplicaRead(new CommandArguments(Protocol.Command.SET).key("k").add("v"))).isFalse();
    assertThat(Commands.isReplicaRead(new CommandArguments(Protocol.Command.INCR).key("k"))).isFalse();
    assertThat(Commands.isReplicaRead(new CommandArguments(Protocol.Command.EVAL).add("return 1").add(0))).isFalse();
    // read-only, but about the node it is sent to: the master's answer is the one asked for
    assertThat(Commands.isReplicaRead(new CommandArguments(Protocol.Command.PING))).isFalse();
    assertThat(Commands.isReplicaRead(new CommandArguments(Protocol.Command.INFO))).isFalse();
    assertThat(Commands.isReplicaRead(new CommandArguments(Protocol.Command.DBSIZE))).isFalse();
    // each node has its own script cache
    assertThat(Commands.isReplicaRead(new CommandArguments(Protocol.Command.EVALSHA_RO).add("sha").add(0))).isFalse();
    assertThat(Commands.isReplicaRead(new CommandArguments(Protocol.Command.EVAL_RO).add("return 1").add(0))).isTrue();
  }
}
