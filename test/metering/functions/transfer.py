"""Test function (Python twin of transfer.mjs): moves a known number of bytes, as the event says.

event: {download: {url}, upload: {host, port, bytes}, throwAfter, sleepMs,
        thenConnect: {host, port, waitForTripMs, expectInterrupt}}
thenConnect (enforcement tests): whatever happens to the transfer, wait until the shared state says BUDGET_TRIPPED
(and, with expectInterrupt, until the guard's interrupt has landed), then try a new TCP connection; the outcome is left
in builtins._eg_settled for the driver, and the interrupt re-raised.
"""
import builtins
import os
import socket
import time
import urllib.request


def _download(url):
    n = 0
    with urllib.request.urlopen(url, timeout=30) as r:
        while True:
            b = r.read(65536)
            if not b:
                return n
            n += len(b)


def _upload(host, port, nbytes):
    back = 0
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(b"u" * nbytes)
        s.shutdown(socket.SHUT_WR)
        while True:
            b = s.recv(65536)
            if not b:
                return back
            back += len(b)


def _tripped():
    with open(os.environ["EGRESS_GUARD_STATE"], "rb") as f:
        f.seek(32)
        return int.from_bytes(f.read(4), "little") & 2 != 0


def _try_connect(host, port):
    try:
        socket.create_connection((host, port), timeout=5).close()
        return {"connected": True}
    except OSError as e:
        import errno

        return {"connected": False, "code": errno.errorcode.get(e.errno, str(e.errno))}


def _work(event):
    out = {}
    if "download" in event:
        out["downloaded"] = _download(event["download"]["url"])
    if "upload" in event:
        u = event["upload"]
        out["echoed"] = _upload(u["host"], u["port"], u["bytes"])
    if event.get("sleepMs"):
        time.sleep(event["sleepMs"] / 1000.0)
    if event.get("throwAfter"):
        e = RuntimeError("handler failed on purpose")
        e.code = "E_TEST_THROW"
        raise e
    return out


def handler(event, context):
    tc = event.get("thenConnect")
    if not tc:
        return _work(event)
    caught = None
    out = None
    try:
        out = _work(event)
    except BaseException as e:  # in enforce mode the guard's interrupt usually lands in the transfer
        caught = e
    until = time.time() + tc.get("waitForTripMs", 5000) / 1000.0
    try:
        while not _tripped() and time.time() < until:
            time.sleep(0.005)
        # the transfer finished before the guard's interrupt arrived: it lands while we wait here
        while tc.get("expectInterrupt") and caught is None and time.time() < until:
            time.sleep(0.005)
    except BaseException as e:
        caught = e
    builtins._eg_settled = {"afterTrip": _try_connect(tc["host"], tc["port"]), "interrupted": caught is not None}
    if caught is not None:
        raise caught
    return out
