"""A Python Lambda handler for the budget tests through the agent (test/budgets/agent.test.ts): moves the bytes the
event asks for with urllib, then returns what it moved (or the error it met).
event: {"download": url} or {"upload": {"url": url, "bytes": n}} or {"stall": {"url": url, "bytes": n}} — the last
sends a POST of n bytes on a plain socket with a 1 MiB send buffer to a peer that never reads the body (the bytes
pile up in this kernel's buffer, not on the wire) — or {"unseen": {"url": url, "bytes": n, "sleepMs": ms}}: a POST
whose n body bytes go out through libc's own write(), reached by loading libc.so.6 with ctypes (the hooks never see
them: docs/METERING.md "What budgets cannot stop"), then a sleep of ms before the handler returns.
"""

from __future__ import annotations

import ctypes
import os
import socket
import time
import urllib.parse
import urllib.request
from typing import Any


def handler(event: dict[str, Any], _context: object) -> dict[str, Any]:
    out: dict[str, Any] = {"moved": 0}
    try:
        if "download" in event:
            with urllib.request.urlopen(event["download"], timeout=60) as res:
                while chunk := res.read(65536):
                    out["moved"] += len(chunk)
        if "upload" in event:
            req = urllib.request.Request(event["upload"]["url"], data=b"u" * event["upload"]["bytes"], method="POST")
            with urllib.request.urlopen(req, timeout=60) as res:
                res.read()
            out["moved"] = event["upload"]["bytes"]
        if "stall" in event:
            url = urllib.parse.urlsplit(event["stall"]["url"])
            n = event["stall"]["bytes"]
            head = f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {n}\r\n\r\n".encode()
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
                s.settimeout(30)
                s.connect((url.hostname, url.port))
                s.sendall(head + b"s" * n)
            out["moved"] = n
        if "unseen" in event:
            url = urllib.parse.urlsplit(event["unseen"]["url"])
            n = event["unseen"]["bytes"]
            head = f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {n}\r\n\r\n".encode()
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            body = ctypes.create_string_buffer(b"n" * n, n)
            with socket.create_connection((url.hostname, url.port), timeout=30) as s:
                s.sendall(head)
                s.settimeout(None)  # a blocking descriptor for libc's write
                while out["moved"] < n:
                    r = libc.write(s.fileno(), ctypes.byref(body, out["moved"]), n - out["moved"])
                    if r < 0:
                        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
                    out["moved"] += r
            time.sleep(event["unseen"]["sleepMs"] / 1000)
    except OSError as e:
        out["error"] = type(e).__name__
    return out
