// A .NET function body for the budget tests (test/budgets/): System.Net.Http.HttpClient, as .NET Lambda code uses it.
// Usage: dotnet Transfer.dll download URL | upload URL BYTES — prints one JSON line {"ok","bytes","error"}.
// Compiled by test/compat/support/build.ts (Mono's C# compiler against the .NET runtime's own assemblies).
using System;
using System.IO;
using System.Net.Http;

public static class Transfer {
  static void Report(bool ok, long bytes, Exception e) {
    string err = e == null ? "null"
        : "{\"code\":\"" + e.GetType().Name + "\",\"message\":\"" + (e.Message ?? "").Replace("\\", "\\\\").Replace("\"", "'").Replace("\n", " ") + "\"}";
    Console.Out.WriteLine("{\"ok\":" + (ok ? "true" : "false") + ",\"bytes\":" + bytes + ",\"error\":" + err + "}");
  }

  public static int Main(string[] args) {
    var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
    long got = 0;
    try {
      if (args[0] == "download") {
        using (var res = client.GetAsync(args[1], HttpCompletionOption.ResponseHeadersRead).GetAwaiter().GetResult())
        using (Stream body = res.Content.ReadAsStreamAsync().GetAwaiter().GetResult()) {
          var buf = new byte[1 << 16];
          for (int n; (n = body.Read(buf, 0, buf.Length)) > 0;) got += n;
        }
        Report(true, got, null);
      } else {
        var payload = new byte[int.Parse(args[2])];
        using (var content = new ByteArrayContent(payload))
        using (var res = client.PostAsync(args[1], content).GetAwaiter().GetResult()) {
          Report((int)res.StatusCode == 200, payload.Length, null);
        }
      }
    } catch (Exception e) {
      Report(false, got, e.GetBaseException());
    }
    return 0;
  }
}
