"""A bare Runtime API loop for the agent tests: no runtime client library, doing what any runtime may do.

Each event: {"download": URL?, "results": ["response" | "error", ...], "errorAtMs": N?}
- GETs `download` (a socket error, such as the budget cut, makes every result an `error`);
- posts each entry of `results` for the request, in order (["response", "response"] is a runtime that posts twice),
  and writes one line per post to stderr: `RAW <request id> <kind> <HTTP status>`;
- with `errorAtMs`: runs the download on a thread of its own and posts one `error` that long after starting it,
  whether the download is still running or not (a runtime whose handler gives up on a timer);
- exits with status 3 when GET …/next answers anything but 200, as runtime clients do (aws-lambda-go, awslambdaric).
"""

import contextlib
import http.client
import json
import os
import sys
import threading
import time
import urllib.request
from typing import Any

PREFIX = "/2018-06-01/runtime/invocation/"


def download(url: str) -> int:
    n = 0
    with urllib.request.urlopen(url) as r:
        while True:
            d = r.read(65536)
            if not d:
                return n
            n += len(d)


def quiet_download(url: str) -> None:
    with contextlib.suppress(OSError):
        download(url)


def main() -> None:
    api = http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"])
    while True:
        api.request("GET", PREFIX + "next")
        res = api.getresponse()
        body = res.read()
        if res.status != 200:
            sys.stderr.write(f"RAW next {res.status} {body.decode(errors='replace')}\n")
            sys.exit(3)
        rid = res.getheader("Lambda-Runtime-Aws-Request-Id") or ""
        event: dict[str, Any] = json.loads(body)
        out: dict[str, Any] = {}
        failed = False
        results = event.get("results", ["response"])
        if event.get("errorAtMs") is not None:
            t = threading.Thread(target=quiet_download, args=(event["download"],), daemon=True)
            t.start()
            time.sleep(event["errorAtMs"] / 1000)
            failed = True
            out = {"errorType": "GaveUp", "errorMessage": "the handler gave up"}
            results = ["error"]
        else:
            try:
                if event.get("download"):
                    out["downloaded"] = download(event["download"])
            except OSError as e:
                failed = True
                out = {"errorType": type(e).__name__, "errorMessage": str(e)}
        for kind in results:
            kind = "error" if failed else kind
            api.request("POST", f"{PREFIX}{rid}/{kind}", json.dumps(out), {"Content-Type": "application/json"})
            r = api.getresponse()
            r.read()
            sys.stderr.write(f"RAW {rid} {kind} {r.status}\n")
            sys.stderr.flush()


if __name__ == "__main__":
    main()
