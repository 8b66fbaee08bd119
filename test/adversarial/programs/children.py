"""A compromised Python dependency trying to start a child the guard does not hold (test/adversarial/children.test.ts).

usage: children.py ATTACK...   (each attack starts victim.py with tag "py-<attack>")

Every attack is ordinary, unprivileged Python: environments handed to subprocess/os.*, a mutated os.environ, the
shell, the dynamic loader run by hand. After each one the attacker sends `GET /sentinel-<tag>` to the allowed server,
so the test knows every request of that attempt has had the time to arrive.
"""

import ctypes
import json
import os
import platform
import socket
import subprocess
import sys

ARENA = os.environ["ARENA"]
PY = sys.executable
VICTIM = os.path.join(ARENA, "programs", "victim.py")
DECOY = os.path.join(ARENA, "decoy", "libegressguard.so")
PERMISSIVE = os.path.join(ARENA, "permissive.egp")
OURS = os.environ.get("LD_PRELOAD", "")
LINK_LOCAL = "169.254.88.9"
DENIED = "10.88.0.2"


def argv(tag: str, host: str = DENIED, port: str = "8080") -> list[str]:
    return [PY, VICTIM, tag, host, port]


def cmdline(tag: str, host: str = DENIED) -> str:
    return " ".join(argv(tag, host))


def env_with(**changes: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(changes)
    return env


def env_without(*names: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in names}


def libc_path() -> str:
    import ctypes.util

    name = ctypes.util.find_library("c") or "libc.so.6"
    for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/lib64", "/lib"):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    return name


def loader_path() -> str:
    with open("/proc/self/maps") as f:
        for line in f:
            if "/ld-linux" in line:
                return line.split()[-1]
    raise RuntimeError("no dynamic loader mapped")


def run(tag: str, env: dict[str, str], **kw: object) -> None:
    subprocess.run(argv(tag), env=env, check=False, **kw)  # type: ignore[call-overload]


def fork_exec(tag: str, how: str) -> None:
    off = env_with(EGRESS_GUARD_MODE="off", LD_PRELOAD="")
    fd = os.open(PY, os.O_RDONLY) if how == "fexecve" else -1
    pid = os.fork()
    if pid == 0:
        try:
            if how == "execve":
                os.execve(PY, argv(tag), off)
            elif how == "execv-putenv":
                os.environ["EGRESS_GUARD_MODE"] = "off"  # putenv(): what execv passes on
                os.environ["LD_PRELOAD"] = ""
                os.execv(PY, argv(tag))
            elif how == "fexecve":
                os.execve(fd, argv(tag), off)
        finally:
            os._exit(127)
    os.waitpid(pid, 0)
    if fd >= 0:
        os.close(fd)


def libc_scope_exec(tag: str, how: str) -> None:
    """execveat() and syscall(SYS_execve / SYS_execveat) through the process's own symbol scope (ctypes.CDLL(None)):
    what a C extension calling them gets. The child is handed an environment that switches the guard off."""
    nr = {"x86_64": {"execve": 59, "execveat": 322}, "aarch64": {"execve": 221, "execveat": 281}}[platform.machine()]
    pid = os.fork()
    if pid == 0:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            args = argv(tag)
            env = [b"EGRESS_GUARD_MODE=off", b"LD_PRELOAD=", b"PATH=/usr/bin:/bin", b"ARENA=" + ARENA.encode()]
            c_argv = (ctypes.c_char_p * (len(args) + 1))(*[a.encode() for a in args], None)
            c_env = (ctypes.c_char_p * (len(env) + 1))(*env, None)
            path = args[0].encode()
            at_fdcwd = -100
            if how == "execveat":
                libc.execveat(at_fdcwd, path, c_argv, c_env, 0)
            else:
                libc.syscall.restype = ctypes.c_long
                libc.syscall.argtypes = [ctypes.c_long] * 6
                c_path = ctypes.create_string_buffer(path)
                a = ctypes.addressof
                if how == "syscall-execve":
                    libc.syscall(nr["execve"], a(c_path), a(c_argv), a(c_env), 0, 0)
                else:
                    libc.syscall(nr["execveat"], at_fdcwd, a(c_path), a(c_argv), a(c_env), 0)
        finally:
            os._exit(127)
    os.waitpid(pid, 0)


def libc_popen(tag: str) -> None:
    libc = ctypes.CDLL(None)  # the process's global scope: what any C extension calling popen() gets
    libc.popen.restype = ctypes.c_void_p
    libc.popen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.fileno.argtypes = [ctypes.c_void_p]
    libc.pclose.argtypes = [ctypes.c_void_p]
    os.environ["EGRESS_GUARD_MODE"] = "off"
    os.environ["LD_PRELOAD"] = ""
    f = libc.popen(cmdline(tag).encode(), b"r")
    fd = libc.fileno(f)
    out = b""
    while chunk := os.read(fd, 4096):
        out += chunk
    sys.stdout.write(out.decode())
    status = libc.pclose(f)
    print(json.dumps({"attack": "libc-popen", "pclose": status}), flush=True)


def libc_execve_direct(tag: str) -> None:
    """The documented residual: libc's own execve, found by dlsym on libc's handle, never reaches the guard."""
    pid = os.fork()
    if pid == 0:
        libc = ctypes.CDLL(libc_path())
        args = argv(tag)
        env = [b"EGRESS_GUARD_MODE=off", b"PATH=/usr/bin:/bin", b"ARENA=" + ARENA.encode()]
        c_argv = (ctypes.c_char_p * (len(args) + 1))(*[a.encode() for a in args], None)
        c_env = (ctypes.c_char_p * (len(env) + 1))(*env, None)
        libc.execve(args[0].encode(), c_argv, c_env)
        os._exit(127)
    os.waitpid(pid, 0)


ATTACKS = {
    # environments handed to the child
    "env-mode-off": lambda t: run(t, env_with(EGRESS_GUARD_MODE="off")),
    "env-mode-audit": lambda t: run(t, env_with(EGRESS_GUARD_MODE="audit")),
    "env-preload-empty": lambda t: run(t, env_with(LD_PRELOAD="")),
    "env-preload-removed": lambda t: run(t, env_without("LD_PRELOAD")),
    "env-empty": lambda t: run(t, {}),
    "env-decoy": lambda t: run(t, env_with(LD_PRELOAD=DECOY)),
    "env-libc-first": lambda t: run(t, env_with(LD_PRELOAD=libc_path() + ":" + OURS)),
    "env-permissive-policy": lambda t: run(
        t, env_without("EGRESS_GUARD_POLICY_ID") | {"EGRESS_GUARD_POLICY": PERMISSIVE}
    ),
    "env-log-off": lambda t: run(t, env_with(EGRESS_GUARD_LOG="off")),
    "env-level-off": lambda t: run(t, env_with(EGRESS_GUARD_LOG_LEVEL="off")),
    "env-runtime-api": lambda t: run(t, env_with(AWS_LAMBDA_RUNTIME_API=f"{DENIED}:8080")),
    "env-runtime-api-link-local": lambda t: subprocess.run(
        argv(t, LINK_LOCAL), env=env_with(AWS_LAMBDA_RUNTIME_API=f"{LINK_LOCAL}:8080"), check=False
    ),
    "env-xray-link-local": lambda t: subprocess.run(
        argv(t, LINK_LOCAL), env=env_with(AWS_XRAY_DAEMON_ADDRESS=f"{LINK_LOCAL}:8080"), check=False
    ),
    # other ways of starting it
    "os-execve": lambda t: fork_exec(t, "execve"),
    "os-execv-putenv": lambda t: fork_exec(t, "execv-putenv"),
    "os-fexecve": lambda t: fork_exec(t, "fexecve"),
    "os-posix-spawn": lambda t: os.waitpid(os.posix_spawn(PY, argv(t), env_with(EGRESS_GUARD_MODE="off")), 0),
    "os-posix-spawnp": lambda t: os.waitpid(
        os.posix_spawnp(os.path.basename(PY), argv(t), env_with(EGRESS_GUARD_MODE="off", LD_PRELOAD="")), 0
    ),
    "os-system": lambda t: (os.environ.update(EGRESS_GUARD_MODE="off", LD_PRELOAD=""), os.system(cmdline(t))),
    "libc-popen": libc_popen,
    "libc-execveat": lambda t: libc_scope_exec(t, "execveat"),
    "libc-syscall-execve": lambda t: libc_scope_exec(t, "syscall-execve"),
    "libc-syscall-execveat": lambda t: libc_scope_exec(t, "syscall-execveat"),
    "subprocess-shell": lambda t: subprocess.run(
        cmdline(t), shell=True, env=env_with(EGRESS_GUARD_MODE="off"), check=False
    ),
    "subprocess-close-fds": lambda t: run(t, env_with(EGRESS_GUARD_MODE="off"), close_fds=True),
    "subprocess-no-close-fds": lambda t: run(t, env_with(EGRESS_GUARD_MODE="off"), close_fds=False),
    "subprocess-devnull": lambda t: run(
        t, env_with(EGRESS_GUARD_MODE="off"), stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ),
    "ld-so-preload-libc": lambda t: subprocess.run(
        [loader_path(), "--preload", libc_path(), *argv(t)], env=env_with(EGRESS_GUARD_MODE="off"), check=False
    ),
    # reported, never blocked (docs/COVERAGE.md): the loader ignores LD_PRELOAD in a set-user-ID program
    "setuid-child": lambda t: subprocess.run(
        [os.path.join(ARENA, "programs", "setuid_connect"), t, DENIED, "8080"], env=os.environ, check=False
    ),
    # residual (docs/COVERAGE.md): calls into libc through ctypes on libc's own handle skip every hook
    "residual-ctypes-libc-execve": libc_execve_direct,
}


def sentinel(tag: str) -> None:
    s = socket.create_connection(("10.88.0.1", 8080), timeout=5)
    s.sendall(f"GET /sentinel-{tag} HTTP/1.0\r\n\r\n".encode())
    s.recv(64)
    s.close()


if __name__ == "__main__":
    for name in sys.argv[1:]:
        tag = "py-" + name
        saved = dict(os.environ)
        try:
            ATTACKS[name](tag)
        except Exception as e:
            print(json.dumps({"attack": name, "error": repr(e)}), flush=True)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        sentinel(tag)
