package io.github.redismasterdiscovery;

import io.fabric8.kubernetes.api.model.Pod;
import java.util.function.Function;
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
    return new AddressTranslator() {
      @Override
      public HostAndPort translate(HostAndPort announced) {
        return mapper.apply(announced);
      }

      @Override
      public String whyNot(HostAndPort announced) {
        return translate(announced) == null ? announced + " has no external address (the application's mapper returned none)" : null;
      }

      @Override
      public boolean stillValid(HostAndPort external) {
        return true;
      }
    };
  }
}
