"""Python `urllib.request.urlopen`: socket.getaddrinfo → libc, then connect."""

import urllib.request

from compat_common import run


def op(url, _step):
    with urllib.request.urlopen(url.geturl()) as res:
        res.read()
        return f"HTTP {res.status}"


run(op)
