"""Python `urllib.request.urlopen`: socket.getaddrinfo → libc, then connect."""

import urllib.request
from urllib.parse import SplitResult

from compat_common import run


def op(url: SplitResult, _step: str) -> str:
    with urllib.request.urlopen(url.geturl()) as res:
        res.read()
        return f"HTTP {res.status}"


run(op)
