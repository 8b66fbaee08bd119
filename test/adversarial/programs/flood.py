"""A misbehaving client: a tight reconnect loop to one denied address (test/adversarial/log-flood.test.ts).

usage: flood.py SECONDS PORT [DISTINCT_FIRST_PORT DISTINCT_COUNT] [--fork] [--exit]

Connects to 10.88.0.2:PORT as fast as it can for SECONDS, counting every attempt (each is refused: EACCES when the
guard blocks it, ECONNREFUSED in audit mode where nothing listens on PORT). Then connects once to each of
DISTINCT_COUNT other ports from DISTINCT_FIRST_PORT on (distinct destinations, which must each be logged). With
--fork, half of the loop runs in a forked child, which reports its own attempts. With --exit, the process ends with
os._exit(0) (no exit handlers, as multiprocessing's workers end). One JSON line per process on stdout.
"""

import json
import os
import socket
import sys
import time

DENIED = "10.88.0.2"


def attempt(port: int, errors: dict[str, int]) -> None:
    s = socket.socket()
    try:
        s.connect((DENIED, port))
        errors["ok"] = errors.get("ok", 0) + 1
    except OSError as e:
        key = str(e.errno)
        errors[key] = errors.get(key, 0) + 1
    finally:
        s.close()


def loop(seconds: float, port: int) -> tuple[int, dict[str, int]]:
    errors: dict[str, int] = {}
    n = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for _ in range(100):
            attempt(port, errors)
        n += 100
    return n, errors


def main() -> None:
    seconds = float(sys.argv[1])
    port = int(sys.argv[2])
    first = int(sys.argv[3]) if len(sys.argv) > 4 else 0
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    fork = "--fork" in sys.argv
    child = os.fork() if fork else -1
    n, errors = loop(seconds / 2 if fork else seconds, port)
    distinct: dict[str, int] = {}
    if child != 0:
        for p in range(first, first + count):
            attempt(p, distinct)
    print(json.dumps({"pid": os.getpid(), "attempts": n, "errors": errors, "distinct": distinct}), flush=True)
    if child > 0:
        os.waitpid(child, 0)
    if "--exit" in sys.argv:
        os._exit(0)


main()
