// .NET compatibility clients (CoreCLR; compiled by test/compat/support/build.ts with Mono's C# compiler against the
// .NET runtime's own assemblies), one program for three clients, chosen by the first argument:
//   httpclient  System.Net.Http.HttpClient  (SocketsHttpHandler: names through Dns → System.Native → getaddrinfo;
//               connect from System.Native)
//   dns         System.Net.Dns.GetHostAddresses (getaddrinfo)
//   udpclient   System.Net.Sockets.UdpClient.Send (UDP on an unconnected socket)
//
// Contract (the same for every client of every runtime, see docs/COMPATIBILITY.md "Client protocol"): the remaining
// arguments are `step=url` pairs; for each, in order, print exactly one line on stdout:
//   COMPAT<TAB>step<TAB>ok|error<TAB>what<TAB>detail
// `what` is the program's view: a short result, or the exception chain it would catch
// (`HttpRequestException > SocketException[Permission denied]`). Exit code 0 once every step is reported.
using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

public static class Compat {
  const int TimeoutMs = 8000;

  static string Clean(string s) {
    string t = Regex.Replace(s ?? "", "[\\t\\r\\n]+", " ");
    return t.Length > 300 ? t.Substring(0, 300) : t;
  }

  static void Report(string step, bool ok, string what, string detail) {
    Console.Out.Write("COMPAT\t" + step + "\t" + (ok ? "ok" : "error") + "\t" + Clean(what) + "\t" + Clean(detail) + "\n");
    Console.Out.Flush();
  }

  // The exception chain a program catches: outer type first; the root carries its (short) message.
  static string Identity(Exception e) {
    var parts = new List<string>();
    for (Exception t = e; t != null && parts.Count < 6; t = t.InnerException) {
      if (t is AggregateException && t.InnerException != null) continue; // .Result's wrapper, not the program's view
      string name = t.GetType().Name;
      if (t.InnerException == null && t.Message != null && t.Message.Length <= 48) name += "[" + t.Message + "]";
      parts.Add(name);
    }
    return string.Join(" > ", parts);
  }

  static string Http(Uri url) {
    using (var client = new HttpClient { Timeout = TimeSpan.FromMilliseconds(TimeoutMs) }) {
      using (var res = client.GetAsync(url).GetAwaiter().GetResult()) {
        res.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        return "HTTP " + (int)res.StatusCode;
      }
    }
  }

  static string Resolve(Uri url) {
    var out_ = new List<string>();
    foreach (IPAddress a in Dns.GetHostAddresses(url.Host)) out_.Add(a.ToString());
    return "resolved " + string.Join(",", out_);
  }

  static string Udp(Uri url) {
    byte[] payload = Encoding.UTF8.GetBytes(url.AbsolutePath.Substring(1));
    using (var s = new UdpClient(AddressFamily.InterNetwork)) {
      int n = s.Send(payload, payload.Length, new IPEndPoint(IPAddress.Parse(url.Host), url.Port));
      return "sent " + n + " bytes";
    }
  }

  public static int Main(string[] args) {
    Func<Uri, string> op;
    switch (args.Length > 0 ? args[0] : "") {
    case "httpclient": op = Http; break;
    case "dns": op = Resolve; break;
    case "udpclient": op = Udp; break;
    default:
      Console.Error.WriteLine("usage: Compat httpclient|dns|udpclient step=url...");
      return 2;
    }
    for (int i = 1; i < args.Length; i++) {
      int eq = args[i].IndexOf('=');
      string step = args[i].Substring(0, eq);
      try {
        Report(step, true, op(new Uri(args[i].Substring(eq + 1))), "");
      } catch (Exception e) {
        Report(step, false, Identity(e), e.ToString());
      }
    }
    return 0;
  }
}
