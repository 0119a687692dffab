package io.github.redismasterdiscovery.testkit;

import java.util.function.Consumer;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;

/**
 * A JUnit 5 extension that hands each test a fresh, running {@link RedisHaTopology} and kills it
 * afterwards; when a test fails, the tail of every Redis and Sentinel log goes to standard error.
 *
 * <pre>{@code
 * @RegisterExtension
 * final RedisHaExtension ha = RedisHaExtension.create(b -> b.labelLag(Duration.ofSeconds(1)));
 *
 * @Test
 * void survivesFailover() {
 *   ha.topology().master().kill();
 * }
 * }</pre>
 *
 * <p>{@link #containers(Consumer)} runs the same topology in Docker containers instead of local processes.
 *
 * <p>Registered on an instance field, every test gets its own topology (failovers leave state behind);
 * on a static field, the test class shares one. Tests may also take a {@link RedisHaTopology} parameter.
 */
public final class RedisHaExtension
    implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback, ParameterResolver, TestExecutionExceptionHandler {

  private final Consumer<RedisHaTopology.Builder> customizer;
  private RedisHaTopology topology;
  private boolean perClass;

  private RedisHaExtension(Consumer<RedisHaTopology.Builder> customizer) {
    this.customizer = customizer;
  }

  /** An extension with the default topology. */
  public static RedisHaExtension create() {
    return new RedisHaExtension(b -> { });
  }

  /**
   * An extension whose topology runs in Docker containers ({@link RedisHaTopology.Builder#containers()}:
   * the image named by {@code -Drmd.testkit.image}, else the official {@code redis:7}), adjusted by
   * {@code customizer}. Where no Docker engine answers, the test fails: it is not skipped.
   */
  public static RedisHaExtension containers(Consumer<RedisHaTopology.Builder> customizer) {
    if (customizer == null) {
      throw new IllegalArgumentException("customizer must not be null; use containers(b -> { }) for the defaults");
    }
    return new RedisHaExtension(b -> customizer.accept(b.containers()));
  }

  /** An extension whose topology builder is adjusted by {@code customizer} before each start. */
  public static RedisHaExtension create(Consumer<RedisHaTopology.Builder> customizer) {
    if (customizer == null) {
      throw new IllegalArgumentException("customizer must not be null; use create() for the defaults");
    }
    return new RedisHaExtension(customizer);
  }

  /** The running topology of the current test. */
  public RedisHaTopology topology() {
    if (topology == null) {
      throw new IllegalStateException("no topology: the extension starts one before each test (or before all, on a static field)");
    }
    return topology;
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    perClass = true;
    topology = start();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    stop();
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    if (!perClass) {
      topology = start();
    }
  }

  @Override
  public void afterEach(ExtensionContext context) {
    if (!perClass) {
      stop();
    }
  }

  @Override
  public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
    return parameterContext.getParameter().getType() == RedisHaTopology.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
    return topology();
  }

  @Override
  public void handleTestExecutionException(ExtensionContext context, Throwable throwable) throws Throwable {
    if (topology != null) {
      System.err.println("=== " + context.getDisplayName() + " failed; Redis logs follow ===\n" + topology.logs());
    }
    throw throwable;
  }

  private RedisHaTopology start() {
    RedisHaTopology.Builder builder = RedisHaTopology.builder();
    customizer.accept(builder);
    return builder.start();
  }

  private void stop() {
    if (topology != null) {
      topology.close();
      topology = null;
    }
  }
}
