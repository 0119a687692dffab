package io.github.redismasterdiscovery.spring;

import java.util.ArrayList;
import java.util.List;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.context.ApplicationEventPublisher;

/**
 * Publishes {@link RedisMasterChangedEvent}s once the context has created its singletons, and in
 * order. The discovery hears of its first master on its own listener thread, often while the
 * context is still creating beans (always when {@code redis-master-discovery.startup-timeout} makes
 * start-up wait for that master): publishing then would resolve the application's event listeners
 * from a second thread in the middle of bean creation, which Spring reports line after line. Events
 * heard before that point are held and published, in order, as soon as it is reached.
 */
final class RedisMasterChangedEventRelay implements SmartInitializingSingleton {

  private final ApplicationEventPublisher publisher;
  private final List<RedisMasterChangedEvent> held = new ArrayList<>();
  private boolean open;

  RedisMasterChangedEventRelay(ApplicationEventPublisher publisher) {
    this.publisher = publisher;
  }

  /** Publishes {@code event} now, or holds it until the context's singletons exist. */
  void publish(RedisMasterChangedEvent event) {
    synchronized (this) {
      if (!open) {
        held.add(event);
        return;
      }
    }
    publisher.publishEvent(event); // only the discovery's listener thread gets here: in order
  }

  @Override
  public void afterSingletonsInstantiated() {
    synchronized (this) { // held events first: a newer one waits for the lock, so order is kept
      for (RedisMasterChangedEvent e : held) {
        publisher.publishEvent(e);
      }
      held.clear();
      open = true;
    }
  }
}
