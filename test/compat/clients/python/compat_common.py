"""Shared driver of the Python compatibility clients (test/compat/clients/python/*.py).

Contract (the same for every client of every runtime, see docs/COMPATIBILITY.md "Client protocol"): argv[1:] are
`step=url` pairs. For each, in order, the client performs its operation and prints exactly one line on stdout:
    COMPAT<TAB>step<TAB>ok|error<TAB>what<TAB>detail
`what` is the program's view: a short result on success, else the exception chain the program would catch, with
errno names (`URLError > PermissionError[EACCES]`, `gaierror[EAI_NONAME]`). Exit code 0 once every step is reported.
"""

from __future__ import annotations

import errno
import socket
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from typing import NoReturn

STEP_TIMEOUT_S = 8.0

_EAI_NAMES = {
    getattr(socket, n): n for n in dir(socket) if n.startswith("EAI_") and isinstance(getattr(socket, n), int)
}


def _clean(s: object) -> str:
    return " ".join(str(s).split())[:300]


def report(step: str, ok: bool, what: object, detail: object = "") -> None:
    sys.stdout.write(f"COMPAT\t{step}\t{'ok' if ok else 'error'}\t{_clean(what)}\t{_clean(detail)}\n")
    sys.stdout.flush()


def _one(e: BaseException) -> str:
    name = type(e).__name__
    code = getattr(e, "errno", None)
    if isinstance(e, socket.gaierror) and isinstance(code, int):
        return f"{name}[{_EAI_NAMES.get(code, code)}]"
    if isinstance(code, int) and code in errno.errorcode:
        return f"{name}[{errno.errorcode[code]}]"
    return name


def identity(e: BaseException | None) -> str:
    """The exception chain a program sees: the outer class, then `reason`/__cause__/__context__ down to the root."""
    parts: list[str] = []
    seen: set[int] = set()
    while e is not None and id(e) not in seen and len(parts) < 6:
        seen.add(id(e))
        parts.append(_one(e))
        nxt = getattr(e, "reason", None)
        if not isinstance(nxt, BaseException):
            # requests/urllib3 keep the inner error in args[0] or in __cause__/__context__
            nxt = e.__cause__ or e.__context__
            if nxt is None and e.args and isinstance(e.args[0], BaseException):
                nxt = e.args[0]
            if nxt is None:
                inner = getattr(e.args[0], "reason", None) if e.args else None
                nxt = inner if isinstance(inner, BaseException) else None
        e = nxt
    return " > ".join(parts)


def steps(argv: list[str] | None = None) -> Iterator[tuple[str, urllib.parse.SplitResult]]:
    for arg in argv if argv is not None else sys.argv[1:]:
        step, _, url = arg.partition("=")
        yield step, urllib.parse.urlsplit(url)


def run(op: Callable[[urllib.parse.SplitResult, str], str]) -> NoReturn:
    """Runs op(url, step) for every step; op returns the `what` of a success or raises."""
    socket.setdefaulttimeout(STEP_TIMEOUT_S)
    for step, url in steps():
        try:
            report(step, True, op(url, step))
        except Exception as e:
            report(step, False, identity(e), e)
    sys.exit(0)
