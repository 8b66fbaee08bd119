// A Java function body for the budget tests (test/budgets/): java.net.http.HttpClient, as Java Lambda code uses it.
// Usage: java Transfer.java download URL | upload URL BYTES — prints one JSON line {"ok","bytes","error"}.
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

public class Transfer {
  static void report(boolean ok, long bytes, Throwable e) {
    String err = e == null ? "null"
        : "{\"code\":\"" + e.getClass().getSimpleName() + "\",\"message\":\"" + String.valueOf(e.getMessage()).replace("\\", "\\\\").replace("\"", "'") + "\"}";
    System.out.println("{\"ok\":" + ok + ",\"bytes\":" + bytes + ",\"error\":" + err + "}");
  }

  public static void main(String[] args) {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    long got = 0;
    try {
      if (args[0].equals("download")) {
        HttpResponse<InputStream> res = client.send(HttpRequest.newBuilder(URI.create(args[1])).build(),
            HttpResponse.BodyHandlers.ofInputStream());
        byte[] buf = new byte[1 << 16];
        try (InputStream in = res.body()) {
          for (int n; (n = in.read(buf)) > 0;) got += n;
        }
        report(true, got, null);
      } else {
        byte[] body = new byte[Integer.parseInt(args[2])];
        HttpResponse<String> res = client.send(
            HttpRequest.newBuilder(URI.create(args[1])).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
            HttpResponse.BodyHandlers.ofString());
        report(res.statusCode() == 200, body.length, null);
      }
    } catch (Exception e) {
      report(false, got, e);
    }
  }
}
