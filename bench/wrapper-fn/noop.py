"""The function the wrapper benchmark invokes: does nothing, so the wrapper's own cost is what is measured."""


def handler(event, context):
    return {"ok": True, "n": event["n"]}
