package io.github.redismasterdiscovery;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import redis.clients.jedis.HostAndPort;

/**
 * A misbehaving peer on loopback: it reads RESP commands and answers each with whatever the
 * responder returns (raw RESP; null for no answer at all, like a black hole). CLIENT SETINFO, sent
 * by Jedis on connect, is answered +OK, and HELLO validly unless {@link #garbageHandshake()}.
 */
final class GarbageServer implements AutoCloseable {

  private final ServerSocket server;
  private final Function<List<String>, String> responder;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final Thread acceptor;

  private boolean handshake = true;

  /** Answers HELLO with the responder too (default: a valid HELLO reply, so garbage starts after the handshake). */
  GarbageServer garbageHandshake() {
    handshake = false;
    return this;
  }

  GarbageServer(Function<List<String>, String> responder) throws IOException {
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    this.responder = responder;
    this.acceptor = new Thread(this::accept, "garbage-server");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  HostAndPort address() {
    return new HostAndPort("127.0.0.1", server.getLocalPort());
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        sockets.add(s);
        Thread th = new Thread(() -> serve(s), "garbage-conn");
        th.setDaemon(true);
        th.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket s) {
    try (s; InputStream in = new BufferedInputStream(s.getInputStream()); OutputStream out = s.getOutputStream()) {
      while (true) {
        List<String> command = read(in);
        if (command == null) {
          return;
        }
        String name = command.isEmpty() ? "" : command.get(0).toUpperCase(Locale.ROOT);
        String reply = name.equals("CLIENT") ? "+OK\r\n"
            : name.equals("HELLO") && handshake ? "*4\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:2\r\n"
            : responder.apply(command);
        if (reply != null) {
          out.write(reply.getBytes(StandardCharsets.UTF_8));
          out.flush();
        }
      }
    } catch (IOException e) {
      // the client went away
    }
  }

  private static List<String> read(InputStream in) throws IOException {
    String header = line(in);
    if (header == null || !header.startsWith("*")) {
      return null;
    }
    int n = Integer.parseInt(header.substring(1));
    List<String> args = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int len = Integer.parseInt(line(in).substring(1));
      byte[] data = in.readNBytes(len + 2);
      args.add(new String(data, 0, len, StandardCharsets.UTF_8));
    }
    return args;
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder sb = new StringBuilder();
    int c;
    while ((c = in.read()) != -1) {
      if (c == '\r') {
        in.read();
        return sb.toString();
      }
      sb.append((char) c);
    }
    return null;
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Socket s : sockets) {
      s.close();
    }
  }
}
