// A minimal Lambda runtime loop in C# on .NET (no runtime interface client: NuGet is not reachable from this project's
// machines), as a managed .NET runtime runs it: GET the next invocation from AWS_LAMBDA_RUNTIME_API with HttpClient,
// call the handler, POST its result (or its error). The handler follows the runtime matrix's contract
// (test/runtimes/support/matrix.ts): GET every url (an error fails the invoke), GET every probe ignoring errors.
using System;
using System.Net.Http;
using System.Text;
using System.Text.Json;

public static class Runtime {
  static readonly HttpClient Http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };

  static string Handler(string eventJson) {
    long total = 0;
    using (JsonDocument ev = JsonDocument.Parse(eventJson)) {
      JsonElement urls, probes;
      if (ev.RootElement.TryGetProperty("urls", out urls)) {
        foreach (JsonElement u in urls.EnumerateArray()) {
          using (var res = Http.GetAsync(u.GetString()).GetAwaiter().GetResult()) {
            if ((int)res.StatusCode != 200) throw new Exception(u.GetString() + ": HTTP " + (int)res.StatusCode);
            total += res.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult().Length;
          }
        }
      }
      if (ev.RootElement.TryGetProperty("probe", out probes)) {
        foreach (JsonElement u in probes.EnumerateArray()) {
          try {
            Http.GetAsync(u.GetString()).GetAwaiter().GetResult().Dispose();
          } catch (Exception) {
            // a denied destination: the error is the expected outcome
          }
        }
      }
    }
    return "{\"bytes\":" + total + "}";
  }

  public static int Main() {
    string api = Environment.GetEnvironmentVariable("AWS_LAMBDA_RUNTIME_API");
    string runtimeBase = "http://" + api + "/2018-06-01/runtime/invocation";
    // the Runtime API waits for the next event as long as it takes
    var rt = new HttpClient { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
    for (;;) {
      string id, body;
      using (var next = rt.GetAsync(runtimeBase + "/next").GetAwaiter().GetResult()) {
        id = string.Join(",", next.Headers.GetValues("Lambda-Runtime-Aws-Request-Id"));
        body = next.Content.ReadAsStringAsync().GetAwaiter().GetResult();
      }
      string path, result;
      try {
        result = Handler(body);
        path = "/" + id + "/response";
      } catch (Exception e) {
        Exception root = e.GetBaseException();
        result = JsonSerializer.Serialize(new { errorMessage = root.Message, errorType = root.GetType().Name });
        path = "/" + id + "/error";
      }
      using (var content = new StringContent(result, Encoding.UTF8, "application/json")) {
        rt.PostAsync(runtimeBase + path, content).GetAwaiter().GetResult().Dispose();
      }
    }
  }
}
