package io.github.redismasterdiscovery.spring;

import io.github.redismasterdiscovery.MasterSnapshot;
import org.springframework.context.ApplicationEvent;

/**
 * Published on every change of the verified Redis master, including to and from "no master", on
 * the discovery's listener thread, which every discovery in the JVM shares: handlers must be fast
 * and hand slow work to another thread. {@link #isFailover()} tells a change of server (a new
 * {@linkplain MasterSnapshot#generation() generation}) from the same master lost and found again.
 */
public class RedisMasterChangedEvent extends ApplicationEvent {

  private static final long serialVersionUID = 1L;

  private final transient MasterSnapshot previous;
  private final transient MasterSnapshot current;

  public RedisMasterChangedEvent(Object source, MasterSnapshot previous, MasterSnapshot current) {
    super(source);
    this.previous = previous;
    this.current = current;
  }

  /** The state before the change. */
  public MasterSnapshot getPrevious() {
    return previous;
  }

  /** The state after it; {@code getCurrent().master()} is empty for "no master". */
  public MasterSnapshot getCurrent() {
    return current;
  }

  /** Whether another server is the master now (not the same one lost and found, nor the first one found). */
  public boolean isFailover() {
    return current.master().isPresent() && previous.lastKnownMaster().isPresent() && current.generation() != previous.generation();
  }
}
