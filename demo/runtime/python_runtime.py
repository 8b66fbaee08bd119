"""A small, faithful Python runtime loop: the part of Lambda's python runtime (bootstrap.py / awslambdaric) the demo
needs, started by the exec wrapper exactly as Lambda starts the real one (`wrapper python3 python_runtime.py`).

Why not awslambdaric: it is on PyPI, not npm, so `npm ci && npm run demo` offline cannot install it (docs/DEPLOY.md).

Contract: reads _HANDLER (`module.function`, dotted packages allowed),
LAMBDA_TASK_ROOT (put first on sys.path, as Lambda does), AWS_LAMBDA_RUNTIME_API; GET .../invocation/next, call
handler(event, context), POST .../{id}/response, or .../{id}/error with {errorType, errorMessage, stackTrace};
an import failure is POSTed to .../init/error and exits 1.
"""

from __future__ import annotations

import http.client
import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, cast

API = os.environ.get("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
BASE = "/2018-06-01/runtime"


def call(
    method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    host, port = API.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=None)
    try:
        conn.request(method, BASE + path, body=body, headers=headers or {})
        res = conn.getresponse()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()
    finally:
        conn.close()


def error_body(e: BaseException) -> str:
    return json.dumps(
        {
            "errorType": type(e).__name__,
            "errorMessage": str(e),
            "stackTrace": traceback.format_tb(e.__traceback__),
        }
    )


class Context:
    def __init__(self, request_id: str, deadline_ms: int, arn: str | None) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return int(max(self._deadline_ms - time.time() * 1000, 0))


def load_handler(spec: str) -> Callable[[Any, Context], Any]:
    module_name, _, func = spec.rpartition(".")
    if not module_name:
        raise ValueError(f"Bad handler '{spec}': expected module.function")
    module = importlib.import_module(module_name.replace("/", "."))
    handler = getattr(module, func, None)
    if not callable(handler):
        raise AttributeError(f"Handler '{func}' missing on module '{module_name}'")
    return cast(Callable[[Any, Context], Any], handler)


def main() -> None:
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    if task_root not in sys.path:
        sys.path.insert(0, task_root)
    try:
        handler = load_handler(os.environ.get("_HANDLER", ""))
    except Exception as e:
        call("POST", "/init/error", error_body(e), {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"})
        sys.exit(1)
    while True:
        _, headers, body = call("GET", "/invocation/next")
        request_id = headers.get("lambda-runtime-aws-request-id", "")
        context = Context(
            request_id,
            int(headers.get("lambda-runtime-deadline-ms", "0")),
            headers.get("lambda-runtime-invoked-function-arn"),
        )
        os.environ["_X_AMZN_TRACE_ID"] = headers.get("lambda-runtime-trace-id", "")
        try:
            result = handler(json.loads(body or b"null"), context)
            call("POST", f"/invocation/{request_id}/response", json.dumps(result))
        except Exception as e:
            call(
                "POST",
                f"/invocation/{request_id}/error",
                error_body(e),
                {"Lambda-Runtime-Function-Error-Type": type(e).__name__},
            )
        sys.stdout.flush()
        sys.stderr.flush()


if __name__ == "__main__":
    main()
