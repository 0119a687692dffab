package io.github.redismasterdiscovery.spring;

import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.data.redis.listener.RedisMessageListenerContainer;
import org.springframework.util.backoff.BackOff;
import org.springframework.util.backoff.BackOffExecution;

/**
 * Keeps each {@link RedisMessageListenerContainer} on a {@link FailoverJedisConnectionFactory}
 * subscribed on the master, through Spring Data Redis' own subscription recovery rather than beside
 * it, so there is exactly one subscription after any number of failovers.
 *
 * <p>At a switch the pool closes every connection of the old master that carries a subscription
 * (after a {@code kill -9} the connection dies by itself). The container sees a connection failure
 * and recovers: it asks this back-off how long to wait, then subscribes on a new connection, which
 * the pool gives only once the new master is verified. Spring Data Redis' default back-off waits
 * 5 s first; this one lets the first attempt go at once (the wait for the new master happens in the
 * pool's borrow, bounded by its {@code maxWait}) and later ones every {@link #RETRY_INTERVAL_MS} ms,
 * and stops when the container is no longer running. Spring Data Redis logs one ERROR
 * ("Connection failure occurred ... Restarting subscription task after 0 ms") per failover from
 * {@code org.springframework.data.redis.listener.RedisMessageListenerContainer}: it cannot be
 * turned off through the container's API.
 *
 * <p>A container the application configured with a back-off of its own is changed too: following the
 * master needs this one. Containers on other connection factories are left alone.
 */
final class ListenerContainerRecovery implements BeanPostProcessor {

  /** Between recovery attempts after the first: each may itself wait up to the pool's maxWait for a master. */
  static final long RETRY_INTERVAL_MS = 1_000;

  @Override
  public Object postProcessBeforeInitialization(Object bean, String beanName) {
    if (bean instanceof RedisMessageListenerContainer container && container.getConnectionFactory() instanceof FailoverJedisConnectionFactory) {
      container.setRecoveryBackoff(new FollowTheMaster(container));
    }
    return bean;
  }

  /** The first attempt at once, then one every {@link #RETRY_INTERVAL_MS} ms, while the container runs. */
  record FollowTheMaster(RedisMessageListenerContainer container) implements BackOff {
    @Override
    public BackOffExecution start() {
      return new BackOffExecution() {
        private int attempts;

        @Override
        public long nextBackOff() {
          if (!container.isRunning()) {
            return STOP;
          }
          return attempts++ == 0 ? 0 : RETRY_INTERVAL_MS;
        }
      };
    }
  }
}
