package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.exceptions.JedisAccessControlException;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;

/** Configuration errors are recognised by the reply, whichever exception Jedis wraps it in; and when they block every way to a master. */
class MisconfigurationTest {

  private static final HostAndPort A = new HostAndPort("10.0.0.1", 6379);
  private static final HostAndPort B = new HostAndPort("10.0.0.2", 6379);

  @Test
  void aPasswordSentToAServerWithoutOneIsRecognisedThoughJedisRaisesAPlainDataException() {
    JedisDataException e = new JedisDataException("ERR AUTH <password> called without any password configured for the default user. "
        + "Are you sure your configuration is correct?");
    assertThat(Misconfiguration.kind(e)).isEqualTo(Misconfiguration.Kind.UNEXPECTED_PASSWORD);
    assertThat(Misconfiguration.describe(e, Misconfiguration.Peer.SENTINEL))
        .startsWith("authentication failed: the Sentinel has no password, but one was sent (ERR AUTH <password> called")
        .contains("remove the password from sentinelClientConfig");
    assertThat(Misconfiguration.kind(new JedisDataException("ERR Client sent AUTH, but no password is set")))
        .isEqualTo(Misconfiguration.Kind.UNEXPECTED_PASSWORD);
  }

  @Test
  void eachRefusalNamesItsFix() {
    assertThat(Misconfiguration.describe(new JedisAccessControlException("WRONGPASS invalid username-password pair or user is disabled."),
        Misconfiguration.Peer.NODE)).contains("the Redis node refused the user/password").contains("clientConfig");
    assertThat(Misconfiguration.describe(new JedisDataException("ERR invalid password"), Misconfiguration.Peer.NODE))
        .contains("refused the user/password");
    assertThat(Misconfiguration.describe(new JedisAccessControlException("NOAUTH Authentication required."), Misconfiguration.Peer.SENTINEL))
        .contains("requires a password and none was sent").contains("set the password in sentinelClientConfig");
    assertThat(Misconfiguration.describe(new JedisAccessControlException("NOPERM this user has no permissions to run the 'role' command"),
        Misconfiguration.Peer.NODE)).contains("permission denied").contains("+role");
  }

  @Test
  void otherFailuresAreNoConfigurationErrors() {
    assertThat(Misconfiguration.kind(new JedisConnectionException("Connection refused"))).isNull();
    assertThat(Misconfiguration.kind(new JedisDataException("LOADING Redis is loading the dataset in memory"))).isNull();
    assertThat(Misconfiguration.kind(new JedisDataException("ERR unknown command 'ROLE'"))).isNull();
    assertThat(Misconfiguration.describeOrFirstLine(new JedisDataException("BUSY script"), Misconfiguration.Peer.NODE)).isEqualTo("BUSY script");
  }

  @Test
  void everySourceBlockedBlocks() {
    Map<SourceKind, String> sources = new HashMap<>();
    sources.put(SourceKind.SENTINEL, "every Sentinel (3): WRONGPASS");
    sources.put(SourceKind.KUBERNETES, "Kubernetes: HTTP 403");
    assertThat(Misconfiguration.blocking(noMaster(Map.of()), sources, Set.of(), Map.of())).containsOnlyKeys(SourceKind.SENTINEL, SourceKind.KUBERNETES);
  }

  @Test
  void oneSourceStillOpenDoesNotBlock() {
    Map<SourceKind, String> sources = new HashMap<>();
    sources.put(SourceKind.SENTINEL, "every Sentinel (3): WRONGPASS");
    sources.put(SourceKind.DNS, null);
    assertThat(Misconfiguration.blocking(noMaster(Map.of()), sources, Set.of(), Map.of())).isEmpty();
    // configured nodes are a source too: blocked only when each refuses us
    Map<SourceKind, String> sentinelOnly = Map.of(SourceKind.SENTINEL, "every Sentinel (3): WRONGPASS");
    assertThat(Misconfiguration.blocking(noMaster(Map.of()), sentinelOnly, Set.of(A, B), Map.of(A, "A: WRONGPASS"))).isEmpty();
    assertThat(Misconfiguration.blocking(noMaster(Map.of()), sentinelOnly, Set.of(A, B), Map.of(A, "A: WRONGPASS", B, "B: WRONGPASS")))
        .containsOnlyKeys(SourceKind.SENTINEL, SourceKind.NODE_PROBE);
  }

  @Test
  void everyNodeAskedRefusingBlocksWhateverTheSourcesSay() {
    Map<SourceKind, String> fine = new HashMap<>();
    fine.put(SourceKind.SENTINEL, null);
    assertThat(Misconfiguration.blocking(noMaster(Map.of(A, "A: NOAUTH")), fine, Set.of(), Map.of(A, "A: NOAUTH")))
        .containsExactly(Map.entry(SourceKind.NODE_PROBE, "A: NOAUTH"));
    // one node answering otherwise (unreachable, replica) keeps the wait going
    assertThat(Misconfiguration.blocking(noMaster(Map.of(A, "A: NOAUTH", B, "replica of A")), fine, Set.of(), Map.of(A, "A: NOAUTH"))).isEmpty();
    assertThat(Misconfiguration.blocking(noMaster(Map.of()), fine, Set.of(), Map.of(A, "A: NOAUTH"))).isEmpty();
  }

  @Test
  void aVerifiedMasterIsNeverBlocked() {
    MasterSnapshot withMaster = new MasterSnapshot(A, SourceKind.SENTINEL, Instant.now(), 1, A, null, Map.of(), null, Map.of(), null);
    assertThat(Misconfiguration.blocking(withMaster, Map.of(SourceKind.SENTINEL, "WRONGPASS"), Set.of(), Map.of())).isEmpty();
  }

  private static MasterSnapshot noMaster(Map<HostAndPort, String> answers) {
    return new MasterSnapshot(null, null, null, 0, null, null, Map.of(), null, answers, null);
  }
}
