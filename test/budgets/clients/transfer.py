"""A Python function body that moves bytes the way real code does, for the budget tests (test/budgets/).

Usage: python3 transfer.py CASE URL [BYTES]; prints one JSON line {"ok", "bytes", "error": {"code", "message"}}.
  urllib-download, httpclient-download, requests-download: GET URL, read the whole body (bytes = body bytes read)
  urllib-upload, httpclient-upload, requests-upload: POST BYTES bytes to URL in one call
  boto3-upload: put_object of BYTES bytes with boto3 to the S3 endpoint URL (bucket "budget")
"""

from __future__ import annotations

import http.client
import json
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable


def report(ok: bool, n: int, error: BaseException | None = None) -> None:
    err = None
    if error is not None:
        code = getattr(error, "errno", None)
        err = {"code": type(error).__name__ if code is None else str(code), "message": str(error)}
    sys.stdout.write(json.dumps({"ok": ok, "bytes": n, "error": err}) + "\n")


def urllib_download(url: str, _: int) -> None:
    got = 0
    try:
        with urllib.request.urlopen(url, timeout=60) as res:
            while True:
                chunk = res.read(1 << 20)
                if not chunk:
                    break
                got += len(chunk)
        report(True, got)
    except Exception as e:
        report(False, got, e)


def httpclient_download(url: str, _: int) -> None:
    u = urllib.parse.urlsplit(url)
    got = 0
    try:
        conn = http.client.HTTPConnection(u.hostname or "", u.port, timeout=60)
        conn.request("GET", u.path)
        res = conn.getresponse()
        while True:
            chunk = res.read(1 << 20)
            if not chunk:
                break
            got += len(chunk)
        report(True, got)
    except Exception as e:
        report(False, got, e)


def requests_download(url: str, _: int) -> None:
    import requests

    got = 0
    try:
        with requests.get(url, stream=True, timeout=60) as res:
            for chunk in res.iter_content(1 << 20):
                got += len(chunk)
        report(True, got)
    except Exception as e:
        report(False, got, e)


def urllib_upload(url: str, n: int) -> None:
    try:
        req = urllib.request.Request(url, data=b"u" * n, method="POST")
        with urllib.request.urlopen(req, timeout=60) as res:
            res.read()
        report(True, n)
    except Exception as e:
        report(False, 0, e)


def httpclient_upload(url: str, n: int) -> None:
    u = urllib.parse.urlsplit(url)
    try:
        conn = http.client.HTTPConnection(u.hostname or "", u.port, timeout=60)
        conn.request("POST", u.path, body=b"u" * n)
        conn.getresponse().read()
        report(True, n)
    except Exception as e:
        report(False, 0, e)


def requests_upload(url: str, n: int) -> None:
    import requests

    try:
        res = requests.post(url, data=b"u" * n, timeout=60)
        report(res.ok, n)
    except Exception as e:
        report(False, 0, e)


def boto3_upload(url: str, n: int) -> None:
    import boto3
    from botocore.config import Config

    s3 = boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"}),
    )
    try:
        s3.put_object(Bucket="budget", Key="python-object", Body=b"s" * n)
        report(True, n)
    except Exception as e:
        report(False, 0, e)


CASES: dict[str, Callable[[str, int], None]] = {
    "urllib-download": urllib_download,
    "httpclient-download": httpclient_download,
    "requests-download": requests_download,
    "urllib-upload": urllib_upload,
    "httpclient-upload": httpclient_upload,
    "requests-upload": requests_upload,
    "boto3-upload": boto3_upload,
}

if __name__ == "__main__":
    CASES[sys.argv[1]](sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
