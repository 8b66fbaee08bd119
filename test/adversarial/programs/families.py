"""Socket families and address kinds beyond plain unicast TCP/UDP, tried by an unprivileged plain-Python program
(test/adversarial/families.test.ts). One JSON line per attempt: {"case", "ok", "errno"}; then the sentinel request.
argv: <denied-ip> <allowed-ip>
"""

from __future__ import annotations

import contextlib
import errno
import json
import socket
import urllib.request
from collections.abc import Callable

PORT = 8080


def attempt(case: str, fn: Callable[[], object]) -> None:
    try:
        fn()
        print(json.dumps({"case": case, "ok": True, "errno": None}), flush=True)
    except OSError as e:
        name = errno.errorcode.get(e.errno, str(e.errno)) if e.errno else type(e).__name__
        print(json.dumps({"case": case, "ok": False, "errno": name}), flush=True)


def udp(addr: tuple[str, int], payload: bytes, broadcast: bool = False) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        if broadcast:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.sendto(payload, addr)


def ping(addr: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP) as s:
        s.sendto(b"\x08\x00\x00\x00\x00\x01\x00\x01exfil", (addr, 0))  # echo request; the kernel fills id and sum


def tcp(addr: tuple[str, int], family: int = socket.AF_INET) -> None:
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(3)
        s.connect(addr)


def vsock_local() -> None:
    with socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM) as s:
        s.settimeout(3)
        s.connect((1, 9999))  # VMADDR_CID_LOCAL: this machine, never the host


def main() -> None:
    import sys

    denied, allowed = sys.argv[1], sys.argv[2]
    a, b, c, d = (int(x) for x in denied.split("."))
    attempt("broadcast", lambda: udp(("255.255.255.255", PORT), b"families:broadcast", broadcast=True))
    attempt("multicast", lambda: udp(("224.0.0.1", PORT), b"families:multicast"))
    attempt("ping-denied", lambda: ping(denied))
    attempt("unspecified-0.0.0.0", lambda: tcp(("0.0.0.0", PORT)))
    attempt("compat-v6", lambda: tcp((f"::{a}.{b}.{c}.{d}", PORT), socket.AF_INET6))
    attempt("nat64-v6", lambda: tcp((f"64:ff9b::{a}.{b}.{c}.{d}", PORT), socket.AF_INET6))
    attempt("decimal-literal", lambda: tcp((str((a << 24) | (b << 16) | (c << 8) | d), PORT)))
    attempt("raw-socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP).close())
    attempt("packet-socket", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close())
    attempt("sctp-socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP).close())
    attempt("vsock-local", vsock_local)
    with contextlib.suppress(OSError):
        urllib.request.urlopen(f"http://{allowed}:{PORT}/sentinel-families", timeout=5).read()


if __name__ == "__main__":
    main()
