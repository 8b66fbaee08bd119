// The runtime matrix's Java function (test/runtimes/support/matrix.ts has the contract): event
// {"urls": [...], "probe": [...]} → GET every url with java.net.http (an error fails the invoke), GET every probe
// ignoring errors → {"bytes": N}, the sum of the url bodies.
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;

public class Handler implements RequestHandler<Map<String, Object>, Map<String, Object>> {
  private final HttpClient client = HttpClient.newHttpClient();

  @SuppressWarnings("unchecked")
  private static List<String> list(Map<String, Object> event, String key) {
    Object v = event.get(key);
    return v == null ? List.of() : (List<String>) v;
  }

  @Override
  public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
    long bytes = 0;
    try {
      for (String url : list(event, "urls")) {
        HttpResponse<byte[]> res = client.send(HttpRequest.newBuilder(URI.create(url)).build(),
            HttpResponse.BodyHandlers.ofByteArray());
        if (res.statusCode() != 200) throw new IllegalStateException(url + ": HTTP " + res.statusCode());
        bytes += res.body().length;
      }
    } catch (Exception e) {
      throw new RuntimeException(e);
    }
    for (String url : list(event, "probe")) {
      try {
        client.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.discarding());
      } catch (Exception e) {
        // a denied destination: the error is the expected outcome
      }
    }
    return Map.of("bytes", bytes);
  }
}
