"""Python `requests` (PyPI; urllib3 underneath): socket.getaddrinfo → libc, then connect."""

from urllib.parse import SplitResult

import requests
from compat_common import run


def op(url: SplitResult, _step: str) -> str:
    res = requests.get(url.geturl(), timeout=8)
    return f"HTTP {res.status_code}"


run(op)
