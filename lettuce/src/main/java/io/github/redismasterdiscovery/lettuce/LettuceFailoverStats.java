package io.github.redismasterdiscovery.lettuce;

/**
 * What a {@link FailoverRedisClient} has done at failovers so far.
 *
 * @param failovers switches from one verified master to another that this client heard of
 * @param closedAtSwitch channels closed because their master was replaced (Lettuce reconnected them to the new one)
 * @param failedInFlight commands that had been sent to an old master without an answer and failed with
 *     {@link MasterSwitchedException} (read-only ones are sent again instead and not counted)
 * @param heldAtFence times a channel started holding commands unsent (a write fence, or a switch seen at a write)
 * @param openChannels channels currently open to the master
 */
public record LettuceFailoverStats(long failovers, long closedAtSwitch, long failedInFlight, long heldAtFence, int openChannels) {}
