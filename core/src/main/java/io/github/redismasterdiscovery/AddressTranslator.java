package io.github.redismasterdiscovery;

import io.fabric8.kubernetes.api.model.Pod;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.HostAndPort;

/**
 * Turns an address a Sentinel, a {@code ROLE} reply or a pod announced into the address this client
 * connects to ({@link ExternalAccess}). Strict: null means "not reachable from here", and such an
 * address is never contacted.
 */
interface AddressTranslator {

  /** In the cluster: every address is used as announced. */
  AddressTranslator IN_CLUSTER = new AddressTranslator() {
    @Override
    public HostAndPort translate(HostAndPort announced) {
      return announced;
    }

    @Override
    public String whyNot(HostAndPort announced) {
      return null;
    }

    @Override
    public boolean stillValid(HostAndPort external) {
      return true;
    }
  };

  /** The address to connect to for {@code announced}, or null when it cannot be reached from here. */
  HostAndPort translate(HostAndPort announced);

  /** Why {@code announced} has no translation (for snapshots and errors), or null when it has one. */
  String whyNot(HostAndPort announced);

  /**
   * Whether an address this translator produced earlier still stands (a load balancer's address can
   * change): the current master at a stale address is treated as lost, so pools reconnect.
   */
  boolean stillValid(HostAndPort external);

  /** The address of {@code pod}'s Redis on {@code port}, or null; only translators that know pods override it. */
  default HostAndPort forPod(Pod pod, int port) {
    return null;
  }

  /** Whether this translator addresses pods itself (then the label source asks {@link #forPod}). */
  default boolean addressesPods() {
    return false;
  }

  /** The application's own function ({@link ExternalAccess#mapper}). */
  static AddressTranslator of(Function<HostAndPort, HostAndPort> mapper) {
    return new Mapped(mapper);
  }

  /**
   * The application's function. When it throws, the address it last gave for the same announced one
   * stands (a transient failure during a failover must not cost the write fence its signal), or, if
   * it never gave one, there is none (never contacted, as when it returns null, and {@link #whyNot}
   * names the mapper rather than the server that announced the address). Either way a WARN with the
   * exception, once a minute per address; the rounds that translate go on.
   */
  final class Mapped implements AddressTranslator {
    private static final Logger log = LoggerFactory.getLogger(ExternalAccess.class);
    private static final int MAX_REMEMBERED = 1_000;

    private final Function<HostAndPort, HostAndPort> mapper;
    private final Map<HostAndPort, String> failures = new ConcurrentHashMap<>();
    private final Map<HostAndPort, HostAndPort> lastGiven = new ConcurrentHashMap<>();
    private final Warnings warnings = new Warnings(Duration.ofMinutes(1));

    Mapped(Function<HostAndPort, HostAndPort> mapper) {
      this.mapper = mapper;
    }

    @Override
    public HostAndPort translate(HostAndPort announced) {
      try {
        HostAndPort external = mapper.apply(announced);
        failures.remove(announced);
        if (external == null) {
          lastGiven.remove(announced);
        } else if (lastGiven.size() < MAX_REMEMBERED || lastGiven.containsKey(announced)) {
          lastGiven.put(announced, external);
        }
        return external;
      } catch (RuntimeException e) {
        HostAndPort last = lastGiven.get(announced);
        String why = "the application's ExternalAccess.mapper threw " + e + " for " + announced
            + ": fix the mapper (it returns the address to connect to, or null when there is none); "
            + (last == null ? announced + " is not contacted meanwhile" : "meanwhile its last answer, " + last + ", stands");
        if (failures.size() < MAX_REMEMBERED || failures.containsKey(announced)) {
          failures.put(announced, why);
        }
        warnings.warn(log, announced + " " + e.getClass().getName(), "{}", why, e);
        return last;
      }
    }

    @Override
    public String whyNot(HostAndPort announced) {
      if (translate(announced) != null) {
        return null;
      }
      String failure = failures.get(announced);
      return failure != null ? failure : announced + " has no external address (the application's mapper returned none)";
    }

    @Override
    public boolean stillValid(HostAndPort external) {
      return true;
    }
  }
}
