"""A compromised Python dependency trying to silence the guard's log lines (test/adversarial/logs.test.ts).

usage: logs.py ATTACK:PORT...   (each attack ends with a denied connect to 10.88.0.2:PORT, by itself or by a child)

The guard logs to the process's stderr (EGRESS_GUARD_LOG=stderr), which the test reads. Each attack tries to make
the line of its denied connect disappear: closing or re-pointing fd 2, closing every descriptor, finding the guard's
own descriptor and closing or overwriting it, starting a child whose stdio goes nowhere. Results: one JSON line per
attempt on stdout (fd 1 is never touched).
"""

import json
import os
import socket
import subprocess
import sys
from typing import Any, cast

ARENA = os.environ["ARENA"]
PY = sys.executable
VICTIM = os.path.join(ARENA, "programs", "victim.py")
STATIC = os.path.join(ARENA, "programs", "static_connect")
DENIED = "10.88.0.2"


def connect(port: int) -> dict[str, object]:
    s = socket.socket()
    try:
        s.connect((DENIED, port))
        return {"ok": True}
    except OSError as e:
        return {"ok": False, "errno": e.errno}
    finally:
        s.close()


def same_as_stderr() -> list[int]:
    """Every descriptor (but 0/1/2) that points where stderr points: what an attacker takes for the guard's copy."""
    target = os.readlink("/proc/self/fd/2")
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if fd > 2 and os.readlink(f"/proc/self/fd/{fd}") == target:
                found.append(fd)
        except OSError:
            pass
    return found


def devnull() -> int:
    return os.open("/dev/null", os.O_WRONLY)


def close_2(port: int) -> dict[str, object]:
    os.close(2)
    return connect(port)


def dup2_devnull_2(port: int) -> dict[str, object]:
    os.dup2(devnull(), 2)
    return connect(port)


def closerange(port: int) -> dict[str, object]:
    os.dup2(devnull(), 2)
    os.closerange(3, 1 << 20)  # close_range(2) under the hood
    return connect(port)


def close_each(port: int) -> dict[str, object]:
    os.dup2(devnull(), 2)
    closed = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2:
            try:
                os.close(fd)
                closed.append(fd)
            except OSError:
                pass
    return connect(port) | {"closed": closed}


def dup2_over_guard(port: int) -> dict[str, object]:
    copies = same_as_stderr()
    null = devnull()
    for fd in copies:
        os.dup2(null, fd)  # the guard moves its copy away first
    os.dup2(null, 2)
    return connect(port) | {"overwritten": copies}


def child(port: int, **kw: object) -> dict[str, object]:
    r = subprocess.run([PY, VICTIM, f"logs-{port}", DENIED, str(port)], stdout=subprocess.PIPE, check=False, **kw)  # type: ignore[call-overload]
    return cast(dict[str, object], json.loads(r.stdout))


def child_stderr_devnull(port: int) -> dict[str, object]:
    return child(port, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)


def child_after_parent_closed(port: int) -> dict[str, object]:
    os.dup2(devnull(), 2)
    os.closerange(3, 1 << 20)
    return child(port, stderr=subprocess.DEVNULL, close_fds=True)


def posix_spawn_file_actions(port: int) -> dict[str, object]:
    """The child's descriptors re-arranged by the spawn itself: the guard's copies closed, stderr to /dev/null."""
    fds = [int(n) for n in os.listdir("/proc/self/fd") if int(n) > 2]
    actions: list[tuple[Any, ...]] = [(os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0)]
    actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in fds]
    r, w = os.pipe()
    actions.append((os.POSIX_SPAWN_DUP2, w, 1))
    pid = os.posix_spawn(PY, [PY, VICTIM, f"logs-{port}", DENIED, str(port)], dict(os.environ), file_actions=actions)
    os.close(w)
    out = b""
    while chunk := os.read(r, 4096):
        out += chunk
    os.waitpid(pid, 0)
    return cast(dict[str, object], json.loads(out))


def residual_undumpable_parent(port: int) -> dict[str, object]:
    """Documented residual: file actions drop the child's copy AND the parent is out of the child's reach."""
    import ctypes

    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: no pidfd_getfd, /proc/<pid>/fd turns root-owned
    return posix_spawn_file_actions(port)


def static_child_devnull(port: int) -> dict[str, object]:
    """Never blocked (no dynamic loader), but the parent's `uncovered` line must reach the log."""
    r = subprocess.run(
        [STATIC, f"logs-{port}", DENIED, "8080"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False
    )
    return cast(dict[str, object], json.loads(r.stdout))


ATTACKS = {
    "close-2": close_2,
    "dup2-devnull-2": dup2_devnull_2,
    "closerange": closerange,
    "close-each": close_each,
    "dup2-over-guard": dup2_over_guard,
    "child-stderr-devnull": child_stderr_devnull,
    "child-after-parent-closed": child_after_parent_closed,
    "posix-spawn-file-actions": posix_spawn_file_actions,
    "static-child-devnull": static_child_devnull,
    "residual-undumpable-parent": residual_undumpable_parent,
}

if __name__ == "__main__":
    for spec in sys.argv[1:]:
        name, port = spec.split(":")
        pid = os.fork()  # each attempt in its own process: what one does to its descriptors must not leak into the next
        if pid == 0:
            try:
                result = ATTACKS[name](int(port))
            except Exception as e:
                result = {"error": repr(e)}
            os.write(1, (json.dumps({"attack": name, "port": int(port), "pid": os.getpid()} | result) + "\n").encode())
            os._exit(0)
        os.waitpid(pid, 0)
