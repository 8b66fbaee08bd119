"""Socket options and ancillary data that send a packet for an allowed address somewhere else, tried in plain Python.

Each attempt sets the option (or passes the control message) on a socket, then sends a datagram `case:<case>` to the
ALLOWED address the way the program would anyway. Without a guard the kernel would put it on the wire towards the
DENIED address (the route's first hop, the routing header's first segment); the test's packet witness records where
every packet went. Prints {"case", "rc", "errno"} for the option/control attempt and {"case": "<case>:send", …} for the
send that follows it. Ends with the datagram `sentinel:<tag>` to ALLOWED:SINK.

usage: socket_opts.py TAG ALLOWED DENIED ALLOWED6 DENIED6 SINK
"""

from __future__ import annotations

import ctypes
import errno
import json
import platform
import socket
import struct
import sys
from collections.abc import Callable

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.syscall.argtypes = [ctypes.c_long] * 7
SYS_SETSOCKOPT = {"x86_64": 54, "aarch64": 208}[platform.machine()]

IP_OPTIONS, IP_RETOPTS, IP_XFRM_POLICY = 4, 7, 17
IPV6_2292PKTOPTIONS, IPV6_NEXTHOP, IPV6_FLOWLABEL_MGR, IPV6_RTHDR = 6, 9, 32, 57
IPOPT_NOP, IPOPT_LSRR, IPOPT_RR = 1, 0x83, 7


def report(case: str, rc: int, err: int = 0) -> None:
    e = errno.errorcode.get(err, str(err)) if rc < 0 else None
    print(json.dumps({"case": case, "rc": rc, "errno": e}), flush=True)


def attempt(case: str, fn: Callable[[], object]) -> None:
    try:
        fn()
        report(case, 0)
    except OSError as e:
        report(case, -1, e.errno or 0)


def srh(first_hop: str) -> bytes:
    """An IPv6 segment routing header (type 4) whose first segment is first_hop (segments_left 1, two segments)."""
    head = struct.pack(">BBBBBBH", 0, 4, 4, 1, 1, 0, 0)  # next header, hdrlen 4, type 4, segments left 1, last entry 1
    return head + b"\0" * 16 + socket.inet_pton(socket.AF_INET6, first_hop)


def rthdr2(home: str) -> bytes:
    """A type 2 (mobile IPv6) routing header: one address."""
    return struct.pack(">BBBBI", 0, 2, 2, 1, 0) + socket.inet_pton(socket.AF_INET6, home)


def lsrr(first_hop: str, dest: str) -> bytes:
    route = socket.inet_aton(first_hop) + socket.inet_aton(dest)
    return bytes([IPOPT_NOP, IPOPT_LSRR, 3 + len(route), 4]) + route


def cmsg(level: int, kind: int, data: bytes) -> bytes:
    """One control message as the kernel lays it out (cmsghdr of 16 bytes, data padded to 8)."""
    head = struct.pack("=QII", 16 + len(data), level, kind)
    return head + data + b"\0" * (-len(data) % 8)


def main() -> None:
    tag, allowed, denied, allowed6, denied6, sink_s = sys.argv[1:7]
    sink = int(sink_s)

    def then_send(case: str, s: socket.socket, dest: tuple[str, int]) -> None:
        attempt(f"{case}:send", lambda: s.sendto(f"case:{case}".encode(), dest))

    # IPv6 routing headers: type 4 (segment routing) is honoured for an unprivileged process
    u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    attempt("v6-rthdr-srh", lambda: u6.setsockopt(socket.IPPROTO_IPV6, IPV6_RTHDR, srh(denied6)))
    then_send("v6-rthdr-srh", u6, (allowed6, sink))
    u6b = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    attempt(
        "v6-rthdr-cmsg",
        lambda: u6b.sendmsg(
            [b"case:v6-rthdr-cmsg"], [(socket.IPPROTO_IPV6, IPV6_RTHDR, rthdr2(denied6))], 0, (allowed6, sink)
        ),
    )
    u6c = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sticky = cmsg(socket.IPPROTO_IPV6, IPV6_RTHDR, rthdr2(denied6))
    attempt("v6-2292pktoptions", lambda: u6c.setsockopt(socket.IPPROTO_IPV6, IPV6_2292PKTOPTIONS, sticky))
    then_send("v6-2292pktoptions", u6c, (allowed6, sink))
    hop = struct.pack("<H", socket.AF_INET6) + b"\0" * 6 + socket.inet_pton(socket.AF_INET6, denied6) + b"\0" * 4
    attempt("v6-nexthop", lambda: u6.setsockopt(socket.IPPROTO_IPV6, IPV6_NEXTHOP, hop))
    request = socket.inet_pton(socket.AF_INET6, allowed6) + struct.pack("=IBBHHHI", 0, 0, 1, 1, 0, 0, 0)
    flow = request + cmsg(socket.IPPROTO_IPV6, IPV6_RTHDR, rthdr2(denied6))
    attempt("v6-flowlabel-options", lambda: u6.setsockopt(socket.IPPROTO_IPV6, IPV6_FLOWLABEL_MGR, flow))
    # IPv4 source routes (loose: LSRR) through DENIED to ALLOWED; the kernel needs CAP_NET_RAW on recent kernels
    u4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    attempt("v4-ip-options-lsrr", lambda: u4.setsockopt(socket.IPPROTO_IP, IP_OPTIONS, lsrr(denied, allowed)))
    then_send("v4-ip-options-lsrr", u4, (allowed, sink))
    u4b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    attempt(
        "v4-retopts-cmsg",
        lambda: u4b.sendmsg(
            [b"case:v4-retopts-cmsg"], [(socket.IPPROTO_IP, IP_RETOPTS, lsrr(denied, allowed))], 0, (allowed, sink)
        ),
    )
    attempt("v4-xfrm-policy", lambda: u4.setsockopt(socket.IPPROTO_IP, IP_XFRM_POLICY, b"\0" * 64))

    def sys_setsockopt() -> None:
        value = ctypes.create_string_buffer(srh(denied6), 40)
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        ctypes.set_errno(0)
        r = libc.syscall(SYS_SETSOCKOPT, s.detach(), socket.IPPROTO_IPV6, IPV6_RTHDR, ctypes.addressof(value), 40, 0)
        if r < 0:
            raise OSError(ctypes.get_errno(), "setsockopt")

    attempt("syscall-setsockopt", sys_setsockopt)
    # what programs really set still works
    c4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    attempt("ok-ip-tos", lambda: c4.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x10))
    rr = bytes([IPOPT_RR, 11, 4]) + b"\0" * 8 + bytes([IPOPT_NOP])
    attempt("ok-ip-options-rr", lambda: c4.setsockopt(socket.IPPROTO_IP, IP_OPTIONS, rr))
    then_send("ok-ip-options-rr", c4, (allowed, sink))
    c6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    attempt("ok-v6-rthdr-clear", lambda: c6.setsockopt(socket.IPPROTO_IPV6, IPV6_RTHDR, b""))
    info = socket.inet_pton(socket.AF_INET6, "::") + struct.pack("=I", 0)
    attempt(
        "ok-v6-pktinfo-cmsg",
        lambda: c6.sendmsg(
            [b"case:ok-v6-pktinfo-cmsg"], [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, info)], 0, (allowed6, sink)
        ),
    )
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(0.2)
    for _ in range(50):
        u.sendto(f"sentinel:{tag}".encode(), (allowed, sink))
        try:
            if u.recv(512).startswith(b"ack:sentinel"):
                break
        except TimeoutError:
            continue


if __name__ == "__main__":
    main()
