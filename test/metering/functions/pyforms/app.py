"""Python handler forms: a plain module."""


def handler(event, context):
    return {"form": "module", "requestId": context.aws_request_id}


NOT_CALLABLE = 3
