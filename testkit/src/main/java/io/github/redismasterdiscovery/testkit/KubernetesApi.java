package io.github.redismasterdiscovery.testkit;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.TimeUnit;
import org.slf4j.LoggerFactory;

/**
 * A Kubernetes API for tests: fabric8's {@link KubernetesMockServer} in CRUD mode (objects are stored,
 * label selectors and watches work) on a fixed loopback port.
 *
 * <p>The API server can be stopped and a new one started on the same port with the same stored
 * objects ({@link #restart()}), or with none ({@link #restartEmpty()}), which is how a real API
 * outage and recovery look to a client. Expectations set through {@link #server()}{@code .expect()}
 * take priority over the stored objects, for answers such as 403.
 *
 * <p>Every request any server generation received is kept, in order, for {@link #requests()}.
 */
public final class KubernetesApi implements AutoCloseable {

  // fabric8's MockWebServer logs every request at INFO through java.util.logging. JUL holds loggers
  // weakly, so keep this one referenced for the level to stick.
  private static final java.util.logging.Logger MOCK_SERVER_LOG = java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");

  static {
    MOCK_SERVER_LOG.setLevel(java.util.logging.Level.WARNING);
  }

  private final String namespace;
  private int port;
  private final Map<ServerRequest, Queue<ServerResponse>> expectations = new HashMap<>();
  private KubernetesMixedDispatcher dispatcher = new KubernetesMixedDispatcher(expectations);
  private final List<String> requestLog = new ArrayList<>();
  private KubernetesMockServer server;
  private final List<KubernetesClient> clients = new ArrayList<>();

  /** A mock API on its own (CRUD mode, empty), for tests that need Kubernetes objects but no Redis. Close it. */
  public static KubernetesApi start(String namespace) {
    return new KubernetesApi(namespace);
  }

  KubernetesApi(String namespace) {
    this.namespace = namespace;
    // A free port can be taken (as an outgoing connection's local port) before we bind it: choose
    // again, on first start only; restarts must keep the port.
    for (int attempt = 1; ; attempt++) {
      this.port = freePort();
      try {
        start();
        return;
      } catch (IllegalStateException e) {
        if (attempt == 5) {
          throw e;
        }
      }
    }
  }

  /** The namespace the testkit's pods live in. */
  public String namespace() {
    return namespace;
  }

  /** The API server URL, stable across restarts. */
  public String url() {
    return "http://127.0.0.1:" + port + "/";
  }

  /** The running mock server, for expectations such as a 403 on pod lists. */
  public synchronized KubernetesMockServer server() {
    if (server == null) {
      throw new IllegalStateException("the Kubernetes API is stopped; call restart() first");
    }
    return server;
  }

  /** A fabric8 client configuration for this API and namespace, with short timeouts suited to tests. */
  public Config clientConfig() {
    return new ConfigBuilder(Config.empty())
        .withMasterUrl(url())
        .withNamespace(namespace)
        .withTrustCerts(true)
        .withConnectionTimeout(2_000)
        .withRequestTimeout(5_000)
        .withRequestRetryBackoffLimit(0)
        .build();
  }

  /** A new client for this API; closed with the API. */
  public synchronized KubernetesClient newClient() {
    KubernetesClient client = new KubernetesClientBuilder().withConfig(clientConfig()).build();
    clients.add(client);
    return client;
  }

  /** Whether an API server is currently answering. */
  public synchronized boolean isRunning() {
    return server != null;
  }

  /** Stops the API server: connections are refused and open watches end. */
  public synchronized void stop() {
    if (server != null) {
      drainRequests();
      server.shutdown();
      server = null;
    }
  }

  /** Starts a new API server on the same port that keeps every stored object. */
  public synchronized void restart() {
    stop();
    start();
  }

  /** Starts a new API server on the same port with no stored objects (an etcd that lost its data). */
  public synchronized void restartEmpty() {
    stop();
    dispatcher = new KubernetesMixedDispatcher(expectations);
    start();
  }

  /**
   * Every request received so far, across restarts, as {@code "METHOD path?query"}, oldest first.
   */
  public synchronized List<String> requests() {
    drainRequests();
    return List.copyOf(requestLog);
  }

  @Override
  public synchronized void close() {
    clients.forEach(KubernetesClient::close);
    clients.clear();
    try {
      stop();
    } catch (IllegalStateException e) {
      // fabric8's MockWebServer sometimes times out closing its Vert.x instance; the test is over anyway.
      LoggerFactory.getLogger(KubernetesApi.class).warn("Kubernetes mock API did not shut down cleanly: {}", e.toString());
      server = null;
    }
  }

  private void start() {
    server = new KubernetesMockServer(new Context(Serialization.jsonMapper()), new MockWebServer(), expectations, dispatcher, false);
    server.init(InetAddress.getLoopbackAddress(), port);
  }

  private void drainRequests() {
    try {
      RecordedRequest r;
      while ((r = server.takeRequest(0, TimeUnit.MILLISECONDS)) != null) {
        requestLog.add(r.getMethod() + " " + r.getPath());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free loopback port for the Kubernetes API", e);
    }
  }
}
