package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.commons.pool2.BasePooledObjectFactory;
import org.apache.commons.pool2.PooledObject;
import org.apache.commons.pool2.impl.DefaultPooledObject;
import org.apache.commons.pool2.impl.GenericObjectPool;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Connection;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPool;
import redis.clients.jedis.exceptions.JedisException;

/** Pool mechanics that need no Redis: a discovery whose only node is a closed port never has a master. */
class FailoverJedisPoolTest {

  private MasterDiscovery discovery;

  @BeforeEach
  void noMaster() throws IOException {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    discovery = MasterDiscovery.builder().nodes("127.0.0.1:" + closedPort).build();
  }

  @AfterEach
  void close() {
    discovery.close();
  }

  /**
   * commons-pool2 runs every pool's eviction and {@code minIdle} top-up on one shared timer thread:
   * a pool whose object creation waited for a master stalled eviction of every pool in the JVM.
   */
  @Test
  void withNoMasterMinIdleDoesNotStallOtherPoolsEviction() throws Exception {
    List<Long> evictionTests = new CopyOnWriteArrayList<>();
    GenericObjectPoolConfig<Object> otherConfig = new GenericObjectPoolConfig<>();
    otherConfig.setTestWhileIdle(true);
    otherConfig.setTimeBetweenEvictionRuns(Duration.ofMillis(100));
    GenericObjectPoolConfig<Jedis> ours = new GenericObjectPoolConfig<>();
    ours.setMinIdle(2);
    ours.setTimeBetweenEvictionRuns(Duration.ofMillis(100));
    ours.setMaxWait(Duration.ofSeconds(5));
    try (FailoverJedisPool pool = new FailoverJedisPool(discovery, ours);
        GenericObjectPool<Object> other = new GenericObjectPool<>(new BasePooledObjectFactory<>() {
          @Override
          public Object create() {
            return new Object();
          }

          @Override
          public PooledObject<Object> wrap(Object o) {
            return new DefaultPooledObject<>(o);
          }

          @Override
          public boolean validateObject(PooledObject<Object> p) {
            evictionTests.add(System.nanoTime());
            return true;
          }
        }, otherConfig)) {
      other.addObject();
      // Every 100 ms in theory; a creation that waited for a master (5 s) would let 10 s pass for 20.
      await().atMost(Duration.ofSeconds(10)).until(() -> evictionTests.size() >= 20);
      long longestGapMs = 0;
      for (int i = 1; i < evictionTests.size(); i++) {
        longestGapMs = Math.max(longestGapMs, (evictionTests.get(i) - evictionTests.get(i - 1)) / 1_000_000);
      }
      assertThat(longestGapMs).as("longest gap between the other pool's eviction runs").isLessThan(2_000);
      assertThat(pool.getNumIdle()).isZero();
    }
  }

  @Test
  void creatingAnObjectWithNoMasterFailsAtOnce() {
    GenericObjectPoolConfig<Jedis> config = new GenericObjectPoolConfig<>();
    config.setMaxWait(Duration.ofSeconds(30));
    try (FailoverJedisPool pool = new FailoverJedisPool(discovery, config)) {
      long start = System.nanoTime();
      assertThatThrownBy(pool::addObject).isInstanceOf(MasterUnavailableException.class)
          .hasMessageContaining("no verified Redis master to connect to");
      assertThat(Duration.ofNanos(System.nanoTime() - start)).as("no wait for a master inside object creation").isLessThan(Duration.ofSeconds(5));
    }
  }

  @Test
  void getResourceWaitsMaxWaitInAllThenNamesTheState() {
    GenericObjectPoolConfig<Jedis> config = new GenericObjectPoolConfig<>();
    config.setMaxWait(Duration.ofMillis(300));
    try (FailoverJedisPool pool = new FailoverJedisPool(discovery, config)) {
      long start = System.nanoTime();
      assertThatThrownBy(pool::getResource).isInstanceOf(MasterUnavailableException.class)
          .hasMessageContaining("no verified Redis master within 300 ms")
          .hasMessageContaining("NODE_PROBE");
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(290));
    }
  }

  @Test
  void destroyDetachesFromTheDiscoveryLikeClose() {
    int before = discovery.listenerCount();
    for (int i = 0; i < 3; i++) {
      new FailoverJedisPool(discovery).destroy();
    }
    FailoverJedisPool closed = new FailoverJedisPool(discovery);
    closed.close();
    new FailoverConnectionProvider(discovery).close();
    assertThat(discovery.listenerCount()).isEqualTo(before);
    assertThat(closed.isClosed()).isTrue();
  }

  @Test
  void aClosedDiscoveryHasNoMasterAndFailsEveryCallClearly() {
    long generation = discovery.snapshot().generation();
    FailoverConnectionProvider provider = new FailoverConnectionProvider(discovery, new GenericObjectPoolConfig<Connection>(),
        DefaultJedisClientConfig.builder().build());
    discovery.close();
    discovery.close(); // idempotent
    MasterSnapshot s = discovery.snapshot();
    assertThat(s.master()).isEmpty();
    assertThat(s.generation()).as("a new generation: no pooled connection stays in use").isGreaterThan(generation);
    assertThat(s.sources().values()).allSatisfy(state -> assertThat(state.status()).isEqualTo(SourceState.Status.DOWN));
    assertThat(s.describe()).contains("discovery closed");
    assertThatThrownBy(() -> discovery.awaitMaster(Duration.ofSeconds(1)))
        .isExactlyInstanceOf(JedisException.class)
        .hasMessageContaining("MasterDiscovery is closed");
    long start = System.nanoTime();
    assertThatThrownBy(provider::getConnection).isExactlyInstanceOf(JedisException.class).hasMessageContaining("MasterDiscovery is closed");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).as("not retried, not waited for").isLessThan(Duration.ofSeconds(5));
    provider.close();
  }

  /**
   * Where FailoverJedisPool differs from JedisPool, each named in its class javadoc ("Where it differs
   * from JedisPool") and tested in this class or FailoverPoolContractIT.
   */
  private static final Set<String> DOCUMENTED_DIFFERENCES = Set.of("getResource/0", "addObject/0", "addObjects/1", "preparePool/0",
      "borrowObject/0", "borrowObject/1", "close/0", "destroy/0", "getFactory/0", "getFactoryType/0", "toString/0");

  /** Behave as in JedisPool (inherited unchanged, or over the same commons-pool2 mechanics); not getters or plain setters. */
  private static final Set<String> SAME_BEHAVIOUR = Set.of("returnResource/1", "returnBrokenResource/1", "returnObject/1",
      "invalidateObject/1", "invalidateObject/2", "clear/0", "evict/0", "use/1", "listAllObjects/0", "setConfig/1",
      "setAbandonedConfig/1", "setEvictionPolicy/1", "setEvictionPolicyClassName/1", "setEvictionPolicyClassName/2",
      "setSwallowedExceptionListener/1", "setMessagesStatistics/1", "withResource/1", "withResourceGet/1");

  /** An object of its own per pool, JedisPool or not: compared by class. */
  private static final Set<String> PER_INSTANCE = Set.of("getCreationStackTrace/0", "getJmxName/0", "getEvictionPolicy/0");

  /**
   * Every public method a JedisPool has is accounted for: documented as different, known to behave
   * the same, or a getter/setter whose values match a JedisPool built from the same settings. A
   * method added by a new Jedis or commons-pool2 fails this test until it is classified.
   */
  @Test
  void everyInheritedPublicMethodBehavesAsInJedisPoolOrIsDocumented() throws Exception {
    GenericObjectPoolConfig<Jedis> config = new GenericObjectPoolConfig<>();
    config.setMaxTotal(3);
    config.setMinIdle(0);
    config.setMaxWait(Duration.ofMillis(250));
    config.setJmxEnabled(false);
    List<String> unclassified = new ArrayList<>();
    List<String> differences = new ArrayList<>();
    try (FailoverJedisPool ours = new FailoverJedisPool(discovery, config);
        JedisPool theirs = new JedisPool(config, "127.0.0.1", 1)) {
      List<Method> getters = new ArrayList<>();
      for (Method m : JedisPool.class.getMethods()) {
        String key = m.getName() + "/" + m.getParameterCount();
        if (m.getDeclaringClass() == Object.class || DOCUMENTED_DIFFERENCES.contains(key) || SAME_BEHAVIOUR.contains(key)) {
          continue;
        }
        if (PER_INSTANCE.contains(key)) {
          Object a = m.invoke(ours);
          Object b = m.invoke(theirs);
          assertThat(a == null ? null : a.getClass()).as(key).isEqualTo(b == null ? null : b.getClass());
          continue;
        }
        boolean getter = m.getParameterCount() == 0 && (m.getName().startsWith("get") || m.getName().startsWith("is"));
        Object sample = m.getParameterCount() == 1 && m.getName().startsWith("set") ? sample(m.getParameterTypes()[0]) : null;
        if (getter) {
          getters.add(m);
        } else if (sample != null) {
          m.invoke(ours, sample);
          m.invoke(theirs, sample);
        } else {
          unclassified.add(key);
        }
      }
      for (Method getter : getters) { // after every setter ran on both
        Object a = getter.invoke(ours);
        Object b = getter.invoke(theirs);
        if (!java.util.Objects.equals(a, b)) {
          differences.add(getter.getName() + ": " + a + " vs " + b);
        }
      }
      assertThat(getters).hasSizeGreaterThan(50);
    }
    assertThat(unclassified).as("public methods neither documented, known, getters nor setters").isEmpty();
    assertThat(differences).as("getters that differ from a JedisPool with the same settings").isEmpty();
  }

  private static Object sample(Class<?> type) {
    if (type == int.class) {
      return 7;
    }
    if (type == long.class) {
      return 1234L;
    }
    if (type == boolean.class) {
      return true;
    }
    if (type == Duration.class) {
      return Duration.ofMillis(1234);
    }
    return null;
  }
}
