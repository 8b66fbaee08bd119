"""Test function (twin of initfetch.mjs): downloads INIT_FETCH_URL while the module loads (init-phase traffic)."""
import os
import urllib.request

with urllib.request.urlopen(os.environ["INIT_FETCH_URL"], timeout=30) as _r:
    INIT_BYTES = len(_r.read())


def handler(event, context):
    return {"initBytes": INIT_BYTES}
