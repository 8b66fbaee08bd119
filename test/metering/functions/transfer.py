"""Test function (Python): the twin of transfer.mjs (same event, same result)."""

import socket
import time
import urllib.request
from typing import Any


def _echo(host: str, port: int, n: int) -> int:
    back = 0
    with socket.create_connection((host, port)) as s:
        s.sendall(b"u" * n)
        s.shutdown(socket.SHUT_WR)
        while True:
            d = s.recv(65536)
            if not d:
                return back
            back += len(d)


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        if event.get("download"):
            with urllib.request.urlopen(event["download"]) as r:
                n = 0
                while True:
                    d = r.read(65536)
                    if not d:
                        break
                    n += len(d)
                out["downloaded"] = n
        if event.get("upload"):
            u = event["upload"]
            out["echoed"] = _echo(u["host"], u["port"], u["bytes"])
    except OSError as e:
        out["error"] = type(e).__name__
    if event.get("sleepMs"):
        time.sleep(event["sleepMs"] / 1000)
    if event.get("throwAfter"):
        raise RuntimeError("handler failed on purpose")
    return out
