#!/usr/bin/env python3
"""A stand-in for the Python Lambda runtime's invoke loop, for tests and benchmarks.

Imports the handler named by _HANDLER (``module.function``; with the layer ``egress_guard_wrapper.handler``) with the
task root on sys.path, as the runtime does, then invokes it once per entry of the plan (JSON in argv[1]) with the event
and a context object carrying aws_request_id and get_remaining_time_in_millis(). A deadline that passes ends the
process at once (Lambda kills a timed-out runtime). One JSON line per invoke is appended to plan["resultFile"].
Test plumbing: with plan["settleGlobal"], a value a handler left in builtins._eg_settled is recorded after the invoke.
"""
import builtins
import importlib
import json
import os
import sys
import threading
import time

plan = json.loads(sys.argv[1])
task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
sys.path.insert(0, task_root)
mod_name, fn_name = os.environ["_HANDLER"].rsplit(".", 1)
handler = getattr(importlib.import_module(mod_name), fn_name)


def record(o):
    with open(plan["resultFile"], "a") as f:
        f.write(json.dumps(o) + "\n")


class Context:
    def __init__(self, request_id, deadline):
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "driver-fn")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = "128"
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:" + self.function_name
        self._deadline = deadline

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.time()) * 1000))


def err_json(e):
    return {
        "name": type(e).__name__,
        "message": str(e),
        "code": getattr(e, "code", None),
        "budget": getattr(e, "budget", None),
        "limit": getattr(e, "limit", None),
        "observed": getattr(e, "observed", None),
        "requestId": getattr(e, "request_id", None),
    }


for inv in plan.get("invokes", []):
    timeout = inv.get("timeoutMs", 30000) / 1000.0
    deadline = time.time() + timeout
    done = threading.Event()

    def watchdog(rid=inv["requestId"], done=done):
        if not done.wait(timeout):
            record({"requestId": rid, "ok": False, "timedOut": True})
            os._exit(0)

    threading.Thread(target=watchdog, daemon=True).start()
    try:
        value = handler(inv.get("event", {}), Context(inv["requestId"], deadline))
        out = {"ok": True, "value": value}
    except Exception as e:
        out = {"ok": False, "error": err_json(e)}
    done.set()
    record(dict(requestId=inv["requestId"], **out))
    if plan.get("settleGlobal") and hasattr(builtins, "_eg_settled"):
        record({"requestId": inv["requestId"], "settled": builtins._eg_settled})
        del builtins._eg_settled
sys.stdout.flush()
