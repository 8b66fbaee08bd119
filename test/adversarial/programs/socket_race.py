"""The racing attacker: another process flips the bytes a call points at while the call is being decided.

A forked helper (plain Python, on the other core) rewrites, in a tight loop, a page of shared memory that holds the
destination address / the msghdr / the DNS question the parent passes to sendto, sendmsg, connect or send, switching
between an allowed value and a denied one. If the guard decided on the caller's bytes and then let the kernel read
them again, some calls would carry the denied value to the kernel. The parent makes at least ITERATIONS calls, and
goes on (up to 20 times as many) until both values have been seen by at least 50 calls each, so the race really ran
however the helper was scheduled. Prints one JSON line per mode {"mode", "calls", "ok", "refused", "other"} and ends
with the datagram `sentinel:<tag>` to ALLOWED:SINK.

usage: socket_race.py TAG MODE ALLOWED QUIET DENIED NAMESERVER SINK ECHO ITERATIONS
QUIET is an allowed address with no listener (datagrams to it do not crowd the witness); ALLOWED:SINK gets the
sentinel, ALLOWED:ECHO the allowed connects.
MODE: sendto-addr | sendmsg-name | connect-addr | dns-bytes
"""

from __future__ import annotations

import ctypes
import errno
import json
import mmap
import os
import signal
import socket
import struct
import sys

libc = ctypes.CDLL(None, use_errno=True)
PAGE = 4096


def sin(ip: str, port: int) -> bytes:
    return struct.pack("<H", socket.AF_INET) + struct.pack(">H", port) + socket.inet_aton(ip) + b"\0" * 8


def dns_query(name: str) -> bytes:
    q = struct.pack(">HHHHHH", 0x4547, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", 1, 1)


class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class MsgHdr(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_void_p),
        ("namelen", ctypes.c_uint32),
        ("iov", ctypes.c_void_p),
        ("iovlen", ctypes.c_size_t),
        ("control", ctypes.c_void_p),
        ("controllen", ctypes.c_size_t),
        ("flags", ctypes.c_int),
    ]


def flip_forever(mm: mmap.mmap, off: int, a: bytes, b: bytes) -> None:
    """The helper: never returns (killed by the parent). Byte 3000 of the page says it is running."""
    end = off + len(a)
    mm[3000] = 1
    while True:
        mm[off:end] = a
        mm[off:end] = b


def main() -> None:
    tag, mode, allowed, quiet, denied, ns, sink_s, echo_s, n_s = sys.argv[1:10]
    sink, echo, iterations = int(sink_s), int(echo_s), int(n_s)
    mm = mmap.mmap(-1, PAGE)
    base = ctypes.addressof(ctypes.c_char.from_buffer(mm))
    payload = f"race:{mode}".encode()
    mm[1024 : 1024 + len(payload)] = payload
    # layout of the shared page: 0 address A, 64 address B, 128 msghdr, 256 iovec, 512 DNS question, 1024 payload
    if mode in ("sendto-addr", "connect-addr"):
        good_ip = quiet if mode == "sendto-addr" else allowed
        mm[0:16] = sin(good_ip, sink if mode == "sendto-addr" else echo)
        flip = (4, socket.inet_aton(good_ip), socket.inet_aton(denied))
    elif mode == "sendmsg-name":
        mm[0:16] = sin(quiet, sink)
        mm[64:80] = sin(denied, sink)
        iov = IoVec(base + 1024, len(payload))
        mm[256 : 256 + ctypes.sizeof(iov)] = bytes(iov)
        hdr = MsgHdr(base, 16, base + 256, 1, None, 0, 0)
        mm[128 : 128 + ctypes.sizeof(hdr)] = bytes(hdr)
        flip = (128, struct.pack("<Q", base), struct.pack("<Q", base + 64))
    elif mode == "dns-bytes":
        good = dns_query("allowed.test")  # flipped in place to the same-length denied name below
        mm[512 : 512 + len(good)] = good
        flip = (512 + 13, b"allowed", b"exfilxy")
    else:
        raise SystemExit(f"unknown mode {mode}")

    helper = os.fork()
    if helper == 0:
        flip_forever(mm, *flip)
    while mm[3000] == 0:
        os.sched_yield()
    counts = {"calls": 0, "ok": 0, "refused": 0, "other": 0}
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if mode == "dns-bytes":
        u.connect((ns, 53))
        u.settimeout(2)
    try:
        for i in range(iterations * 20):
            if i >= iterations and counts["ok"] >= 50 and counts["refused"] >= 50:
                break
            counts["calls"] += 1
            ctypes.set_errno(0)
            if mode == "sendto-addr":
                rc = libc.sendto(u.fileno(), ctypes.c_void_p(base + 1024), len(payload), 0, ctypes.c_void_p(base), 16)
            elif mode == "sendmsg-name":
                rc = libc.sendmsg(u.fileno(), ctypes.c_void_p(base + 128), 0)
            elif mode == "dns-bytes":
                rc = libc.send(u.fileno(), ctypes.c_void_p(base + 512), len(good), 0)
                if rc >= 0:
                    u.recv(512)  # as a resolver does: one answer per question, so the witness is never flooded
            else:
                t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                rc = libc.connect(t.fileno(), ctypes.c_void_p(base), 16)
                t.close()
            e = ctypes.get_errno()
            key = "ok" if rc >= 0 else "refused" if e == errno.EACCES else "other"
            counts[key] += 1
    finally:
        os.kill(helper, signal.SIGKILL)
        os.waitpid(helper, 0)
    print(json.dumps({"mode": mode, **counts}), flush=True)
    sentinel(tag, allowed, sink)


def sentinel(tag: str, allowed: str, sink: int) -> None:
    """Sends `sentinel:<tag>` to the sink until it answers, so it is known to have been recorded."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    for _ in range(50):
        s.sendto(f"sentinel:{tag}".encode(), (allowed, sink))
        try:
            if s.recv(512).startswith(b"ack:sentinel"):
                return
        except TimeoutError:
            continue


if __name__ == "__main__":
    main()
