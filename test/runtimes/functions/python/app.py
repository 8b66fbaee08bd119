"""The runtime matrix's Python function (test/runtimes/support/matrix.ts has the contract).

Event {"urls": [...], "probe": [...]}: GET every url (an error fails the invoke), GET every probe ignoring errors;
returns {"bytes": N}, the sum of the url bodies.
"""

import urllib.request
from typing import Any


def handler(event: dict[str, Any], context: object) -> dict[str, int]:
    total = 0
    for url in event.get("urls", []):
        with urllib.request.urlopen(url, timeout=20) as r:
            total += len(r.read())
    for url in event.get("probe", []):
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                r.read()
        except OSError:
            pass
    return {"bytes": total}
