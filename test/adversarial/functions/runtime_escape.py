"""A Lambda handler written as a compromised dependency would write it (test/adversarial/runtime-api.test.ts): it
pushes an upload past the invoke's budget, then tries to answer the invoke itself, straight to the real Runtime API
the agent stands in front of (EGRESS_GUARD_UPSTREAM_API), in every spelling that reaches a loopback listener — so
that the invoke reports success instead of EgressBudgetExceeded. Plain Python: urllib, http.client, socket.
event: {"upload": {"url": url, "bytes": n}} or {} (no upload, only the attempts)
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import urllib.request
from typing import Any


def _post(family: int, host: str, port: int, path: str, body: bytes) -> str:
    """POST body to host:port over a socket of `family`; "ok <status>" or the errno name of the failure."""
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(5)
        sock.connect((host, port))
    except OSError as e:
        return os.strerror(e.errno) if e.errno else type(e).__name__
    conn = http.client.HTTPConnection(host if family == socket.AF_INET else f"[{host}]", port, timeout=5)
    conn.sock = sock
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    return f"ok {conn.getresponse().status}"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"escaped": True}
    try:
        up = event.get("upload") or {"url": "", "bytes": 0}
        if not up["url"]:
            raise FileNotFoundError
        req = urllib.request.Request(up["url"], data=b"u" * up["bytes"], method="POST")
        with urllib.request.urlopen(req, timeout=60) as res:
            res.read()
    except OSError as e:
        out["upload"] = type(e).__name__
    host, _, port_s = os.environ.get("EGRESS_GUARD_UPSTREAM_API", "").rpartition(":")
    port = int(port_s or "0")
    path = f"/2018-06-01/runtime/invocation/{context.aws_request_id}/response"
    body = json.dumps(out).encode()
    out["attempts"] = {
        "upstream": _post(socket.AF_INET, host, port, path, body),
        "any": _post(socket.AF_INET, "0.0.0.0", port, path, body),
        "mapped": _post(socket.AF_INET6, f"::ffff:{host}", port, path, body),
        "loopback6": _post(socket.AF_INET6, "::1", port, path, body),
    }
    return out
