package io.github.redismasterdiscovery.spring;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.ApplicationListener;
import org.springframework.data.redis.listener.RedisMessageListenerContainer;

/**
 * Moves pub/sub subscriptions to the new master. A {@link RedisMessageListenerContainer} keeps one
 * connection subscribed and re-subscribes only when that connection fails; after a graceful failover
 * the old master lives on (as a replica), so the subscription would stay there and messages published
 * on the new master would never arrive (Spring Session's indexed repository listens this way).
 * On every failover each running container that uses a {@link FailoverJedisConnectionFactory} is
 * stopped and started again, which subscribes on the new master.
 */
class ListenerContainerRestarter implements ApplicationListener<RedisMasterChangedEvent>, DisposableBean {

  private static final Logger log = LoggerFactory.getLogger(ListenerContainerRestarter.class);

  private final ObjectProvider<RedisMessageListenerContainer> containers;
  /** Stopping and starting a container waits for its subscription: never on the discovery's listener thread. */
  private final ExecutorService restarts = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "redis-listener-container-restart");
    t.setDaemon(true);
    return t;
  });

  ListenerContainerRestarter(ObjectProvider<RedisMessageListenerContainer> containers) {
    this.containers = containers;
  }

  @Override
  public void onApplicationEvent(RedisMasterChangedEvent event) {
    if (!event.isFailover()) {
      return;
    }
    containers.orderedStream().forEach(container -> {
      if (container.isRunning() && container.getConnectionFactory() instanceof FailoverJedisConnectionFactory) {
        restarts.execute(() -> {
          try {
            container.stop();
            container.start();
            log.info("Redis message listener container re-subscribed on the new master {}", event.getCurrent().master().orElse(null));
          } catch (RuntimeException e) {
            log.warn("Redis message listener container could not re-subscribe on the new master {}: its subscriptions may be lost "
                + "until it is restarted", event.getCurrent().master().orElse(null), e);
          }
        });
      }
    });
  }

  @Override
  public void destroy() {
    restarts.shutdownNow();
  }
}
