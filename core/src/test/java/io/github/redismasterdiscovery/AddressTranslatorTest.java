package io.github.redismasterdiscovery;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;

/** The application's mapper, as the discovery uses it: a mapper that throws is the application's fault, not the server's. */
class AddressTranslatorTest {

  private static final HostAndPort POD = new HostAndPort("10.0.0.5", 6379);
  private static final HostAndPort OTHER_POD = new HostAndPort("10.0.0.6", 6379);
  private static final HostAndPort OUTSIDE = new HostAndPort("203.0.113.5", 6379);

  @Test
  void aMapperThatThrowsKeepsTheAddressItLastGaveAndNeverInventsOne() {
    AtomicBoolean broken = new AtomicBoolean();
    AddressTranslator t = AddressTranslator.of(a -> {
      if (broken.get()) {
        throw new IllegalStateException("route table reloading");
      }
      return a.equals(POD) ? OUTSIDE : null;
    });
    assertThat(t.translate(POD)).isEqualTo(OUTSIDE);
    assertThat(t.whyNot(OTHER_POD)).contains("the application's mapper returned none");

    broken.set(true);
    assertThat(t.translate(POD)).as("a transient failure must not drop an address (a failover's fence signal needs it)").isEqualTo(OUTSIDE);
    assertThat(t.whyNot(POD)).isNull();
    assertThat(t.translate(OTHER_POD)).as("never mapped: no address").isNull();
    assertThat(t.whyNot(OTHER_POD)).contains("the application's ExternalAccess.mapper threw java.lang.IllegalStateException: route table reloading")
        .contains("fix the mapper");

    broken.set(false);
    assertThat(t.whyNot(OTHER_POD)).as("recovered: the mapper's own answer again").contains("returned none");
  }

  @Test
  void aMapperThatReturnsNoneForgetsWhatItGaveBefore() {
    AtomicBoolean gone = new AtomicBoolean();
    AtomicBoolean broken = new AtomicBoolean();
    AddressTranslator t = AddressTranslator.of(a -> {
      if (broken.get()) {
        throw new IllegalStateException("down");
      }
      return gone.get() ? null : OUTSIDE;
    });
    assertThat(t.translate(POD)).isEqualTo(OUTSIDE);
    gone.set(true);
    assertThat(t.translate(POD)).isNull();
    broken.set(true);
    assertThat(t.translate(POD)).as("the last answer was 'none'").isNull();
  }
}
