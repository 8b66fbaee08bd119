"""Python `http.client.HTTPConnection`: socket.create_connection (getaddrinfo → libc, then connect)."""

import http.client
from urllib.parse import SplitResult

from compat_common import run


def op(url: SplitResult, _step: str) -> str:
    conn = http.client.HTTPConnection(url.hostname or "", url.port)
    try:
        conn.request("GET", url.path)
        res = conn.getresponse()
        res.read()
        return f"HTTP {res.status}"
    finally:
        conn.close()


run(op)
