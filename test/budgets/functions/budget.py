"""A Python Lambda handler for the budget tests through the agent (test/budgets/agent.test.ts): moves the bytes the
event asks for with urllib, then returns what it moved (or the error it met).
event: {"download": url} or {"upload": {"url": url, "bytes": n}}
"""

from __future__ import annotations

import urllib.request
from typing import Any


def handler(event: dict[str, Any], _context: object) -> dict[str, Any]:
    out: dict[str, Any] = {"moved": 0}
    try:
        if "download" in event:
            with urllib.request.urlopen(event["download"], timeout=60) as res:
                while chunk := res.read(65536):
                    out["moved"] += len(chunk)
        if "upload" in event:
            req = urllib.request.Request(event["upload"]["url"], data=b"u" * event["upload"]["bytes"], method="POST")
            with urllib.request.urlopen(req, timeout=60) as res:
                res.read()
            out["moved"] = event["upload"]["bytes"]
    except OSError as e:
        out["error"] = type(e).__name__
    return out
