"""Prints a Terraform file as JSON, parsed by a real HCL parser (python-hcl2), for test/deploy/terraform.test.ts.

Normalised for the test: the quotes python-hcl2 keeps around string literals and block labels are removed, and its
`__is_block__` and `__comments__` entries are dropped. Expressions (`${...}`) stay as text.
Usage: hcl_to_json.py FILE.tf
"""

from __future__ import annotations

import json
import sys
from typing import Any

import hcl2


def unquote(value: str) -> str:
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        return value[1:-1]
    return value


def normalise(node: Any) -> Any:
    if isinstance(node, dict):
        return {unquote(k): normalise(v) for k, v in node.items() if k not in ("__is_block__", "__comments__")}
    if isinstance(node, list):
        return [normalise(v) for v in node]
    if isinstance(node, str):
        return unquote(node)
    return node


def main(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        json.dump(normalise(hcl2.load(f)), sys.stdout, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
