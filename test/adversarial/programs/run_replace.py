"""The command of `egress-guard run` replaces the policy its children will load (test/adversarial/run-policy.test.ts):
it rewrites the file EGRESS_GUARD_POLICY names IN PLACE (same inode, so a child's identity check of the file passes)
with a permissive compiled policy it brought along — making the file writable first when it is not — and the
guard's own copy of it (a descriptor named egress-guard-policy in /proc/self/fd) likewise, then starts a child
that requests http://DENIED:8080/run-replaced. Plain Python. Prints one JSON line per step; then the sentinel.
argv: <permissive.egp> <denied-ip> <allowed-ip>
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.request

CHILD = """
import json, sys, urllib.request
try:
    urllib.request.urlopen(f"http://{sys.argv[1]}:8080/run-replaced", timeout=5).read()
    print(json.dumps({"step": "child", "reached": True}))
except OSError as e:
    print(json.dumps({"step": "child", "reached": False, "error": str(e)}))
"""


def main() -> None:
    permissive, denied, allowed = sys.argv[1], sys.argv[2], sys.argv[3]
    path = os.environ.get("EGRESS_GUARD_POLICY", "")
    with open(permissive, "rb") as f:
        data = f.read()
    step: dict[str, object] = {"step": "rewrite", "path": path}
    try:
        try:
            fd = os.open(path, os.O_WRONLY)
        except PermissionError:
            os.chmod(path, 0o600)
            fd = os.open(path, os.O_WRONLY)
        # never shorter than before: the guard of this very process may map the file, and a shrunk mapping would
        # kill it (SIGBUS) before it could start its child
        size = os.fstat(fd).st_size
        os.write(fd, data + b"\0" * max(0, size - len(data)))
        os.ftruncate(fd, max(size, len(data)))
        os.close(fd)
        step["rewritten"] = True
    except OSError as e:
        step["rewritten"] = False
        step["error"] = str(e)
    print(json.dumps(step), flush=True)
    # the copy the guard hands to children, if any: rewrite it too, through /proc/self/fd
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if "egress-guard-policy" not in target:
            continue
        try:
            wfd = os.open(f"/proc/self/fd/{name}", os.O_WRONLY)
            os.write(wfd, data)
            os.close(wfd)
            outcome = "written"
        except OSError as e:
            outcome = os.strerror(e.errno) if e.errno else type(e).__name__
        print(json.dumps({"step": "copy", "target": target, "outcome": outcome}), flush=True)
    subprocess.run([sys.executable, "-c", CHILD, denied], check=False)
    sys.stdout.flush()
    with contextlib.suppress(OSError):
        urllib.request.urlopen(f"http://{allowed}:8080/sentinel-run", timeout=5).read()


if __name__ == "__main__":
    main()
