package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;

class JedisRoleProbeTest {

  static final HostAndPort NODE = new HostAndPort("10.0.0.1", 6379);

  @Test
  void parsesAMasterWithReplicas() {
    NodeRole role = JedisRoleProbe.parse(NODE, List.of("master", 3129659L, List.of(List.of("10.0.0.2", "6379", "3129242"))));
    assertThat(role.isMaster()).isTrue();
    assertThat(role.replicas()).containsExactly(new HostAndPort("10.0.0.2", 6379));
  }

  @Test
  void parsesAReplica() {
    NodeRole role = JedisRoleProbe.parse(NODE, List.of("slave", "10.0.0.9", 6380L, "connected", 3167038L));
    assertThat(role.kind()).isEqualTo(NodeRole.Kind.REPLICA);
    assertThat(role.masterOfReplica()).isEqualTo(new HostAndPort("10.0.0.9", 6380));
  }

  @Test
  void parsesByteRepliesLikeStrings() {
    NodeRole role = JedisRoleProbe.parse(NODE, List.of("slave".getBytes(), "10.0.0.9".getBytes(), 6380L, "connect".getBytes(), -1L));
    assertThat(role.masterOfReplica()).isEqualTo(new HostAndPort("10.0.0.9", 6380));
  }

  @Test
  void aSentinelGivenAsADataNodeIsAnErrorThatSaysSo() {
    NodeRole role = JedisRoleProbe.parse(NODE, List.of("sentinel", List.of("mymaster")));
    assertThat(role.kind()).isEqualTo(NodeRole.Kind.ERROR);
    assertThat(role.detail()).contains("is a Sentinel").contains("sentinels(");
  }

  @Test
  void garbageIsAnErrorNamingTheNode() {
    assertThat(JedisRoleProbe.parse(NODE, List.of()).detail()).contains(NODE.toString()).contains("empty");
    assertThat(JedisRoleProbe.parse(NODE, List.of("leader")).detail()).contains("unknown role 'leader'");
    NodeRole malformed = JedisRoleProbe.parse(NODE, List.of("slave", "10.0.0.9", "not-a-port"));
    assertThat(malformed.kind()).isEqualTo(NodeRole.Kind.ERROR);
    assertThat(malformed.detail()).contains("malformed");
    assertThat(JedisRoleProbe.parse(NODE, List.of("master", 1L, List.of("not-a-list"))).kind()).isEqualTo(NodeRole.Kind.ERROR);
  }
}
