"""The child every attack starts: tries to reach a server the policy denies and prints what happened (one JSON line).

usage: victim.py TAG [HOST [PORT]]   (default 10.88.0.2 8080; sends `GET /TAG`)
It also reports the guard settings it was started with, as the child sees them.
"""

import json
import os
import socket
import sys

tag = sys.argv[1]
host = sys.argv[2] if len(sys.argv) > 2 else "10.88.0.2"
port = int(sys.argv[3]) if len(sys.argv) > 3 else 8080
result: dict[str, object] = {
    "victim": tag,
    "pid": os.getpid(),
    "mode": os.environ.get("EGRESS_GUARD_MODE"),
    "preload": os.environ.get("LD_PRELOAD"),
    "policy": os.environ.get("EGRESS_GUARD_POLICY"),
}
try:
    s = socket.create_connection((host, port), timeout=3)
    s.sendall(f"GET /{tag} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
    result["ok"] = True
    result["reply"] = s.recv(64).decode(errors="replace")[:12]
except OSError as e:
    result["ok"] = False
    result["errno"] = e.errno
print(json.dumps(result), flush=True)
