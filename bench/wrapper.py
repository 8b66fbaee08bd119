#!/usr/bin/env python3
"""Python half of bench/wrapper.ts (run by it; see there for the method). argv: invokes, output JSON path.

Imports the layer module (egress_guard_wrapper, configured by the environment the parent sets) and the same do-nothing
handler unwrapped, calls them alternately with a runtime-like context, and writes medians/p90 and the median per-pair
difference in microseconds."""
import importlib
import json
import os
import sys
import time

n = int(sys.argv[1])
out = sys.argv[2]
sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
wrapped = importlib.import_module("egress_guard_wrapper").handler
plain = importlib.import_module("noop").handler


class Ctx:
    def __init__(self, i):
        self.aws_request_id = "bench-%d-0000-0000-0000-000000000000" % i
        self.function_name = "bench"

    def get_remaining_time_in_millis(self):
        return 30000


def timed(h, i):
    c = Ctx(i)
    t0 = time.perf_counter_ns()
    h({"n": i}, c)
    return (time.perf_counter_ns() - t0) / 1000.0


for i in range(min(500, n)):
    timed(wrapped, i)
    timed(plain, i)
p, w = [], []
for i in range(n):
    if i % 2 == 0:
        w.append(timed(wrapped, i))
        p.append(timed(plain, i))
    else:
        p.append(timed(plain, i))
        w.append(timed(wrapped, i))


def q(s, f):
    return s[min(len(s) - 1, int(f * len(s)))]


d = sorted(b - a for a, b in zip(p, w))
ps, ws = sorted(p), sorted(w)
r = lambda x: round(x, 1)  # noqa: E731
with open(out, "w") as f:
    json.dump(
        {
            "lang": "python",
            "invokes": n,
            "plainMedianUs": r(q(ps, 0.5)),
            "wrappedMedianUs": r(q(ws, 0.5)),
            "plainP90Us": r(q(ps, 0.9)),
            "wrappedP90Us": r(q(ws, 0.9)),
            "addedMedianUs": r(q(d, 0.5)),
        },
        f,
    )
