package io.github.redismasterdiscovery;

/**
 * Told when the verified master changes, including to and from "no master".
 *
 * <p>Called on one dedicated thread, in the order the changes happened, never while the discovery
 * holds a lock. Keep it fast and non-blocking; an exception it throws is logged and does not affect
 * the discovery or other listeners.
 */
@FunctionalInterface
public interface MasterListener {

  /**
   * The master changed.
   *
   * @param previous the snapshot before the change
   * @param current the snapshot after it; {@link MasterSnapshot#master()} is empty for "no master"
   */
  void onMasterChange(MasterSnapshot previous, MasterSnapshot current);
}
