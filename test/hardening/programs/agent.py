"""Guarded Python helper for test/hardening: lookups/connects on command, and a fork-under-load scenario.

agent.py serve            one JSON command per stdin line {"host","ip","port"} -> one JSON result line
agent.py fork HOST IP PORT DENIED_IP N
                          8 threads loop over getaddrinfo(HOST)+connect(IP) (inside the guard's hooks) while the
                          main thread forks N children (multiprocessing, 'fork' start method, a Pool and single
                          Processes); each child makes an allowed and a denied connect and reports. Prints a JSON
                          summary.
agent.py names HEX...     getaddrinfo(bytes.fromhex(HEX)) for each (hostile names); prints the error names
"""

from __future__ import annotations

import errno
import json
import multiprocessing as mp
import socket
import sys
import threading
from collections.abc import Sequence
from multiprocessing.queues import Queue


def probe(host: str | bytes | None, ip: str, port: int) -> dict[str, str]:
    res: dict[str, str] = {}
    if host:
        try:
            socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)
            res["gai"] = "ok"
        except socket.gaierror as e:
            res["gai"] = "EAI_NONAME" if e.errno == socket.EAI_NONAME else f"EAI_{e.errno}"
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect((ip, port))
        res["connect"] = "ok"
    except OSError as e:
        res["connect"] = errno.errorcode.get(e.errno, str(e.errno)) if e.errno else type(e).__name__
    finally:
        s.close()
    return res


def child_task(args: tuple[str, int, str]) -> list[str]:
    ip, port, denied = args
    return [probe(None, ip, port)["connect"], probe(None, denied, port)["connect"]]


def child_proc(q: Queue[list[str]], ip: str, port: int, denied: str) -> None:
    q.put(child_task((ip, port, denied)))


def fork_scenario(host: str, ip: str, port: int, denied: str, n: int) -> None:
    stop = threading.Event()
    counts = {"loops": 0, "bad": 0}
    lock = threading.Lock()

    def spin() -> None:
        while not stop.is_set():
            r = probe(host, ip, port)
            with lock:
                counts["loops"] += 1
                if r != {"gai": "ok", "connect": "ECONNREFUSED"}:
                    counts["bad"] += 1

    threads = [threading.Thread(target=spin, daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    ctx = mp.get_context("fork")
    results: list[Sequence[str | int | None]] = []
    with ctx.Pool(4) as pool:
        results += pool.map(child_task, [(ip, port, denied)] * n, chunksize=1)
    q: Queue[list[str]] = ctx.Queue()
    for _ in range(n):
        p = ctx.Process(target=child_proc, args=(q, ip, port, denied))
        p.start()
        p.join(20)
        if p.exitcode != 0:
            results.append(["exit", p.exitcode])
        else:
            results.append(q.get(timeout=5))
    stop.set()
    for t in threads:
        t.join(10)
    print(json.dumps({"children": results, "loops": counts["loops"], "badLoops": counts["bad"]}), flush=True)


def main() -> None:
    cmd = sys.argv[1]
    if cmd == "serve":
        for line in sys.stdin:
            c = json.loads(line)
            print(json.dumps(probe(c.get("host"), c["ip"], c["port"])), flush=True)
    elif cmd == "fork":
        fork_scenario(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6]))
    elif cmd == "names":
        out: list[str] = []
        for h in sys.argv[2:]:
            try:
                socket.getaddrinfo(bytes.fromhex(h), 80)
                out.append("ok")
            except socket.gaierror as e:
                out.append("EAI_NONAME" if e.errno == socket.EAI_NONAME else f"EAI_{e.errno}")
            except (UnicodeError, ValueError) as e:
                out.append(type(e).__name__)
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
