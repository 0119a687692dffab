package io.github.redismasterdiscovery.spring;

import io.github.redismasterdiscovery.MasterDiscovery;
import io.github.redismasterdiscovery.MasterSnapshot;
import io.github.redismasterdiscovery.SourceState;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * The discovery's state, from its snapshot alone: no I/O, never blocks. UP while a master is
 * verified (a suspect master, one that stopped answering for a moment, is still UP with
 * {@code suspectSince} in the details), DOWN without one, and DOWN when evaluation rounds have
 * stopped completing ({@link MasterDiscovery#evaluationOverdue()}: the master shown may be stale). Details: master, source, generation,
 * verification time, each source's state, and what the nodes answered when there is no master.
 * Never a secret: the snapshot holds none.
 */
public class RedisMasterDiscoveryHealthIndicator implements HealthIndicator {

  private final MasterDiscovery discovery;

  public RedisMasterDiscoveryHealthIndicator(MasterDiscovery discovery) {
    this.discovery = discovery;
  }

  @Override
  public Health health() {
    MasterSnapshot s = discovery.snapshot();
    boolean overdue = discovery.evaluationOverdue();
    Health.Builder b = s.master().isPresent() && !overdue ? Health.up() : Health.down();
    if (overdue) {
      b.withDetail("evaluation", "overdue: no evaluation round has completed since "
          + s.evaluatedAt().map(Object::toString).orElse("start-up") + "; the master shown may be stale (see the ERROR logged by MasterDiscovery)");
    }
    s.master().ifPresent(m -> b.withDetail("master", m.toString()));
    s.source().ifPresent(src -> b.withDetail("source", src.name()));
    b.withDetail("generation", s.generation());
    s.verifiedAt().ifPresent(t -> b.withDetail("verifiedAt", t.toString()));
    s.evaluatedAt().ifPresent(t -> b.withDetail("evaluatedAt", t.toString()));
    s.suspectSince().ifPresent(t -> b.withDetail("suspectSince", t.toString()));
    s.lastKnownMaster().filter(m -> s.master().isEmpty()).ifPresent(m -> b.withDetail("lastKnownMaster", m.toString()));
    s.conflict().ifPresent(c -> b.withDetail("conflict", c));
    Map<String, String> sources = new LinkedHashMap<>();
    for (SourceState state : s.sources().values()) {
      sources.put(state.kind().name(), state.status() + (state.detail().isEmpty() ? "" : ": " + state.detail()));
    }
    b.withDetail("sources", sources);
    if (s.master().isEmpty() && !s.answers().isEmpty()) {
      Map<String, String> answers = new LinkedHashMap<>();
      s.answers().forEach((node, answer) -> answers.put(node.toString(), answer));
      b.withDetail("nodes", answers);
    }
    return b.build();
  }
}
