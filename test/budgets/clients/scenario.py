"""A long-lived guarded process the budget tests drive step by step, as a runtime lives across invokes.

Reads one JSON command per line on stdin, answers one JSON line on stdout. Between commands the test arms, trips or
re-arms the shared state file as the agent would. Commands ("op"):
  open {name, url}          GET url on a new connection; reads the response head; keeps the socket as `name`
  read {name, n}            reads up to n body bytes from `name` -> {"got", "error"}
  send {name, n}            sends n bytes on `name` -> {"sent", "error"}
  download {url}            GET url, reads Content-Length body bytes, closes -> {"bytes", "error"}
  connect {host, port}      a new TCP connection -> {"error"}
  loopback {n}              n bytes round trip through an echo server on 127.0.0.1 -> {"echoed", "error"}
  udp {host, port, n}       one n-byte datagram with sendto -> {"sent", "error"}
  child {args}              runs python3 with args (inherits the guard) -> {"status", "stdout"}
  netdev {}                 rx/tx bytes of every interface but lo -> {"rx", "tx"}
Errors are reported as {"error": {"errno": name, "message"}}, never raised.
"""

from __future__ import annotations

import errno
import json
import socket
import subprocess
import sys
import threading
import urllib.parse
from typing import Any

conns: dict[str, socket.socket] = {}


def err(e: BaseException) -> dict[str, Any]:
    code = getattr(e, "errno", None)
    return {
        "errno": errno.errorcode.get(code, str(code)) if isinstance(code, int) else type(e).__name__,
        "message": str(e),
    }


def http_open(url: str) -> tuple[socket.socket, int]:
    u = urllib.parse.urlsplit(url)
    s = socket.create_connection((u.hostname or "", u.port or 80), timeout=30)
    s.sendall(f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:  # one byte at a time: no body byte is consumed here
        b = s.recv(1)
        if not b:
            raise ConnectionError("closed before the response head")
        head += b
    length = next((int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")), -1)
    return s, length


def echo_server() -> int:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)

    def serve() -> None:
        while True:
            c, _ = srv.accept()
            threading.Thread(
                target=lambda c=c: [c.sendall(d) for d in iter(lambda: c.recv(65536), b"")], daemon=True
            ).start()

    threading.Thread(target=serve, daemon=True).start()
    return int(srv.getsockname()[1])


ECHO_PORT = echo_server()


def netdev() -> dict[str, int]:
    rx = tx = 0
    with open("/proc/net/dev") as f:
        for line in f.readlines()[2:]:
            name, _, rest = line.partition(":")
            if name.strip() == "lo":
                continue
            v = rest.split()
            rx, tx = rx + int(v[0]), tx + int(v[8])
    return {"rx": rx, "tx": tx}


def run(cmd: dict[str, Any]) -> dict[str, Any]:
    op = cmd["op"]
    try:
        if op == "open":
            conns[cmd["name"]] = http_open(cmd["url"])[0]
            return {"error": None}
        if op == "read":
            s, got = conns[cmd["name"]], 0
            try:
                while got < cmd["n"]:
                    b = s.recv(min(65536, cmd["n"] - got))
                    if not b:
                        return {"got": got, "error": {"errno": "EOF", "message": "end of stream"}}
                    got += len(b)
                return {"got": got, "error": None}
            except OSError as e:
                return {"got": got, "error": err(e)}
        if op == "send":
            s, sent = conns[cmd["name"]], 0
            try:
                while sent < cmd["n"]:
                    sent += s.send(b"x" * min(65536, cmd["n"] - sent))
                return {"sent": sent, "error": None}
            except OSError as e:
                return {"sent": sent, "error": err(e)}
        if op == "download":
            got = 0
            try:
                s, length = http_open(cmd["url"])
                with s:
                    while got < length:
                        b = s.recv(min(1 << 20, length - got))
                        if not b:
                            return {"bytes": got, "error": {"errno": "EOF", "message": "end of stream"}}
                        got += len(b)
                return {"bytes": got, "error": None}
            except OSError as e:
                return {"bytes": got, "error": err(e)}
        if op == "connect":
            socket.create_connection((cmd["host"], cmd["port"]), timeout=10).close()
            return {"error": None}
        if op == "loopback":
            with socket.create_connection(("127.0.0.1", ECHO_PORT)) as s:
                data, back = b"l" * cmd["n"], b""
                threading.Thread(target=s.sendall, args=(data,), daemon=True).start()
                while len(back) < len(data):
                    b = s.recv(65536)
                    if not b:
                        break
                    back += b
            return {"echoed": len(back), "error": None}
        if op == "udp":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                return {"sent": s.sendto(b"u" * cmd["n"], (cmd["host"], cmd["port"])), "error": None}
        if op == "child":
            p = subprocess.run([sys.executable, *cmd["args"]], capture_output=True, text=True, timeout=120)
            return {"status": p.returncode, "stdout": p.stdout.strip()}
        if op == "netdev":
            return netdev()
        return {"error": {"errno": "EINVAL", "message": f"unknown op {op}"}}
    except OSError as e:
        return {"error": err(e)}


for line in sys.stdin:
    sys.stdout.write(json.dumps(run(json.loads(line))) + "\n")
    sys.stdout.flush()
