"""What a compromised dependency would try against an upload budget: plain Python, no native code of its own.

Usage: python3 attack.py CASE HOST PORT — each case tries to push 5 MiB to http://HOST:PORT/upload past a 1 MiB budget
and prints one JSON line {"sent": <bytes the program believes it sent>, "error": <errno name|None>}.
  threads   eight threads, eight connections, each sendall()s 1 MiB at the same moment (beat the per-call clamp);
            also reports "connected" (connections made before the trip refused the rest)
  dup2      moves the connected socket to another descriptor number first (dup2), then sends there
  dup       the same through os.dup() (fcntl F_DUPFD)
  reconnect connect()s the connected socket to loopback first (fails with EISCONN) hoping to clear its flag
  sendto-lo sends with sendto() and a loopback address on the connected TCP socket
  syscall   writes with ctypes: libc's syscall(SYS_write, …) — the generic system call entry
  sendfile  os.sendfile() from a 5 MiB file
  sendmsg   socket.sendmsg() with 80 buffers of 64 KiB in one call
  scm       hands the connected socket to a child process over a Unix socket (SCM_RIGHTS); the child sends
  exec      execs a new program that inherits the connected socket and sends on it
  libc      RESIDUAL: libc's own write(), reached by loading libc.so.6 itself with ctypes (dlsym on that handle returns
            libc's function, not the guard's: the documented dlsym bypass)
  state     RESIDUAL: rewrites tx_trip_at in the state file (EGRESS_GUARD_STATE: same user, writable) to "no limit"
  udp       sends 60,000-byte datagrams to the peer until something stops it (datagrams are not clamped)
  procs     RESIDUAL (bounded): four processes, four connections, each sendall()s 1 MiB at the same moment; the
            in-flight claims are per process, so each may cross by what was left; reports "connected"
  spawn     runs a subprocess first (Python forks it with vfork: the child shares the guard's memory and closes every
            descriptor before its exec), hoping the child's closes wipe the parent's view of its sockets
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading

FIVE = 5 * 1024 * 1024
SYS_WRITE = 1  # x86_64; aarch64 is 64
if os.uname().machine == "aarch64":
    SYS_WRITE = 64


def head(n: int) -> bytes:
    return f"POST /upload HTTP/1.1\r\nHost: peer\r\nContent-Length: {n}\r\n\r\n".encode()


def report(sent: int, error: BaseException | None, **extra: int) -> None:
    code = getattr(error, "errno", None) if error else None
    name = None if error is None else (os.strerror(code) if isinstance(code, int) else type(error).__name__)
    sys.stdout.write(json.dumps({"sent": sent, "error": name, **extra}) + "\n")


def send_all(fd_or_sock: socket.socket | int, data: bytes) -> int:
    sent = 0
    view = memoryview(data)
    while sent < len(data):
        if isinstance(fd_or_sock, int):
            sent += os.write(fd_or_sock, view[sent:])
        else:
            sent += fd_or_sock.send(view[sent:])
    return sent


def connect(host: str, port: int) -> socket.socket:
    s = socket.create_connection((host, port))
    s.sendall(head(FIVE))
    return s


def main() -> None:
    case, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    body = b"a" * FIVE
    sent = 0
    try:
        if case == "threads":
            results: list[BaseException | None] = []
            connected: list[int] = []

            def one() -> None:
                try:
                    s = socket.create_connection((host, port))
                    connected.append(1)
                    s.sendall(head(1024 * 1024) + b"t" * (1024 * 1024))
                    results.append(None)
                except OSError as e:
                    results.append(e)

            ts = [threading.Thread(target=one) for _ in range(8)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            errors = [e for e in results if e is not None]
            report(8 * 1024 * 1024, errors[0] if errors else None, connected=len(connected))
            return
        if case == "udp":
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            while sent < 20 * FIVE:
                sent += u.sendto(b"d" * 60000, (host, port))
            report(sent, None)
            return
        if case == "procs":
            go_r, go_w = os.pipe()
            kids = []
            for _ in range(4):
                pid = os.fork()
                if pid == 0:
                    os.close(go_w)
                    try:
                        c = socket.create_connection((host, port))
                        os.read(go_r, 1)
                        c.sendall(head(1024 * 1024) + b"p" * (1024 * 1024))
                        os._exit(0)
                    except OSError as e:
                        os._exit(1 if e.errno == 13 else 2)  # 1: refused at connect (EACCES)
                kids.append(pid)
            os.write(go_w, b"gggg")
            codes = [os.waitstatus_to_exitcode(os.waitpid(k, 0)[1]) for k in kids]
            report(4 * 1024 * 1024, None, connected=sum(1 for c in codes if c != 1))
            return
        s = connect(host, port)
        if case in ("dup2", "dup"):
            fd = os.dup2(s.fileno(), 200) if case == "dup2" else os.dup(s.fileno())
            sent = send_all(fd, body)
        elif case == "libc":
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            buf = ctypes.create_string_buffer(body, FIVE)
            while sent < FIVE:
                r = libc.write(s.fileno(), ctypes.byref(buf, sent), FIVE - sent)
                if r < 0:
                    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
                sent += r
        elif case == "state":
            with open(os.environ["EGRESS_GUARD_STATE"], "r+b") as f:
                f.seek(152)  # tx_trip_at (docs/STATE.md)
                f.write(b"\xff" * 8)
            sent = send_all(s, body)
        elif case == "spawn":
            subprocess.run(["true"], check=True)
            sent = send_all(s, body)
        elif case == "reconnect":
            with contextlib.suppress(OSError):
                s.connect(("127.0.0.1", 9))
            sent = send_all(s, body)
        elif case == "sendto-lo":
            view = memoryview(body)
            while sent < FIVE:
                sent += s.sendto(view[sent:], ("127.0.0.1", 9))
        elif case == "syscall":
            libc = ctypes.CDLL(None, use_errno=True)
            buf = ctypes.create_string_buffer(body, FIVE)
            while sent < FIVE:
                r = libc.syscall(SYS_WRITE, s.fileno(), ctypes.byref(buf, sent), FIVE - sent)
                if r < 0:
                    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
                sent += r
        elif case == "sendfile":
            with tempfile.TemporaryFile() as f:
                f.write(body)
                f.flush()
                while sent < FIVE:
                    sent += os.sendfile(s.fileno(), f.fileno(), sent, FIVE - sent)
        elif case == "sendmsg":
            bufs = [b"m" * 65536] * 80
            while sent < FIVE:
                sent += s.sendmsg(bufs)
                bufs = [b"m" * 65536] * ((FIVE - sent) // 65536)
                if not bufs:
                    break
        elif case == "scm":
            a, b = socket.socketpair()
            child = subprocess.Popen([sys.executable, __file__, "scm-child"], stdin=b.fileno(), stdout=subprocess.PIPE)
            socket.send_fds(a, [b"x"], [s.fileno()])
            s.close()
            out, _ = child.communicate(timeout=60)
            sys.stdout.write(out.decode())
            return
        elif case == "exec":
            os.set_inheritable(s.fileno(), True)
            os.execv(sys.executable, [sys.executable, __file__, "exec-child", str(s.fileno())])
        report(sent, None)
    except OSError as e:
        report(sent, e)


def exec_child(fd: int) -> None:
    sent = 0
    try:
        sent = send_all(fd, b"e" * FIVE)
        report(sent, None)
    except OSError as e:
        report(sent, e)


def scm_child() -> None:
    u = socket.socket(fileno=0)
    _, fds, _, _ = socket.recv_fds(u, 1, 1)
    sent = 0
    try:
        sent = send_all(fds[0], b"c" * FIVE)
        report(sent, None)
    except OSError as e:
        report(sent, e)


if __name__ == "__main__":
    if sys.argv[1] == "scm-child":
        scm_child()
    elif sys.argv[1] == "exec-child":
        exec_child(int(sys.argv[2]))
    else:
        main()
