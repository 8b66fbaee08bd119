"""A module in a directory without __init__.py (namespace package; handler string nested/plain.handler)."""


def handler(event, context):
    return {"form": "dir"}
