"""A module inside a package (handler string pkg.sub.mod.main or pkg/sub/mod.main)."""


def main(event, context):
    return {"form": "package"}
