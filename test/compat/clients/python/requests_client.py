"""Python `requests` (PyPI; urllib3 underneath): socket.getaddrinfo → libc, then connect."""

import requests

from compat_common import run


def op(url, _step):
    res = requests.get(url.geturl(), timeout=8)
    return f"HTTP {res.status_code}"


run(op)
