/*
 * Java compatibility clients (JDK 17+), one program for four clients, chosen by the first argument:
 *   httpclient    java.net.http.HttpClient      (NIO SocketChannel; names through InetAddress → getaddrinfo)
 *   urlconnection java.net.HttpURLConnection    (classic socket; names through InetAddress → getaddrinfo)
 *   inetaddress   InetAddress.getAllByName      (getaddrinfo; the JVM caches answers: 30 s positive, 10 s negative)
 *   datagramsocket java.net.DatagramSocket.send (UDP on an unconnected socket)
 *
 * Contract (the same for every client of every runtime, see docs/COMPATIBILITY.md "Client protocol"): the remaining
 * arguments are `step=url` pairs; for each, in order, print exactly one line on stdout:
 *   COMPAT<TAB>step<TAB>ok|error<TAB>what<TAB>detail
 * `what` is the program's view: a short result, or the exception chain it would catch
 * (`ConnectException > SocketException[Permission denied]`). Exit code 0 once every step is reported.
 * Compiled once per suite run with javac into a temporary directory (test/compat/support/build.ts).
 */
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

public final class Compat {
  private static final int TIMEOUT_MS = 8_000;

  interface Op {
    String run(URI url) throws Exception;
  }

  private static String clean(String s) {
    String t = s == null ? "" : s.replaceAll("[\\t\\r\\n]+", " ");
    return t.length() > 300 ? t.substring(0, 300) : t;
  }

  private static void report(String step, boolean ok, String what, String detail) {
    System.out.print("COMPAT\t" + step + "\t" + (ok ? "ok" : "error") + "\t" + clean(what) + "\t" + clean(detail) + "\n");
    System.out.flush();
  }

  /** The exception chain a program catches: outer class first; the root carries its (short) message. */
  static String identity(Throwable e) {
    List<String> parts = new ArrayList<>();
    Throwable t = e;
    while (t != null && parts.size() < 6) {
      String name = t.getClass().getSimpleName();
      boolean root = t.getCause() == null || t.getCause() == t;
      String msg = t.getMessage();
      if (root && msg != null && msg.length() <= 48) name += "[" + msg + "]";
      parts.add(name);
      if (root) break;
      t = t.getCause();
    }
    return String.join(" > ", parts);
  }

  private static String httpClient(URI url) throws Exception {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(TIMEOUT_MS)).build();
    HttpRequest req = HttpRequest.newBuilder(url).timeout(Duration.ofMillis(TIMEOUT_MS)).GET().build();
    HttpResponse<String> res = client.send(req, HttpResponse.BodyHandlers.ofString());
    return "HTTP " + res.statusCode();
  }

  private static String urlConnection(URI url) throws Exception {
    HttpURLConnection c = (HttpURLConnection) url.toURL().openConnection();
    c.setConnectTimeout(TIMEOUT_MS);
    c.setReadTimeout(TIMEOUT_MS);
    try {
      int status = c.getResponseCode();
      c.getInputStream().readAllBytes();
      return "HTTP " + status;
    } finally {
      c.disconnect();
    }
  }

  private static String inetAddress(URI url) throws Exception {
    List<String> out = new ArrayList<>();
    for (InetAddress a : InetAddress.getAllByName(url.getHost())) out.add(a.getHostAddress());
    return "resolved " + String.join(",", out);
  }

  private static String datagram(URI url) throws Exception {
    byte[] payload = url.getPath().substring(1).getBytes(StandardCharsets.UTF_8);
    try (DatagramSocket s = new DatagramSocket()) {
      s.send(new DatagramPacket(payload, payload.length, InetAddress.getByName(url.getHost()), url.getPort()));
    }
    return "sent " + payload.length + " bytes";
  }

  public static void main(String[] args) {
    Op op;
    switch (args.length > 0 ? args[0] : "") {
      case "httpclient": op = Compat::httpClient; break;
      case "urlconnection": op = Compat::urlConnection; break;
      case "inetaddress": op = Compat::inetAddress; break;
      case "datagramsocket": op = Compat::datagram; break;
      default:
        System.err.println("usage: Compat httpclient|urlconnection|inetaddress|datagramsocket step=url...");
        System.exit(2);
        return;
    }
    for (int i = 1; i < args.length; i++) {
      int eq = args[i].indexOf('=');
      String step = args[i].substring(0, eq);
      try {
        report(step, true, op.run(URI.create(args[i].substring(eq + 1))), "");
      } catch (Throwable e) {
        report(step, false, identity(e), String.valueOf(e));
      }
    }
    System.exit(0);
  }
}
