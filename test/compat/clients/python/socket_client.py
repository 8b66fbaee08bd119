"""Python `socket`: TCP steps use socket.create_connection and speak HTTP/1.0 by hand; the `udp` step sends one
datagram with `sendto` on an unconnected socket (payload: the URL path without its leading slash)."""

import socket
from urllib.parse import SplitResult

from compat_common import run


def op(url: SplitResult, _step: str) -> str:
    host, port = url.hostname or "", url.port or 0
    if url.scheme == "udp":
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            payload = url.path[1:].encode()
            n = s.sendto(payload, (host, port))
            return f"sent {n} bytes"
    with socket.create_connection((host, port)) as s:
        s.sendall(f"GET {url.path} HTTP/1.0\r\nHost: {url.netloc}\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return "HTTP " + data.split(b"\r\n", 1)[0].decode().split(" ")[1]


run(op)
