"""The peer that witnesses what a budgeted function moved: an HTTP/1.1 server that counts what really arrived.

Usage: python3 witness.py HOST PORT  — prints {"kind":"ready","port":N} once listening, then one JSON line per request:
  - POST/PUT /upload (Content-Length or chunked): {"kind":"upload","received":<body bytes read>,"complete":<bool>,
    "error":<str|None>} — `complete` only when the whole declared body arrived; the client is answered 200 then.
  - POST /stall: the request head is read, the body never: the connection stays open, unread, for 10 s (a peer whose
    window closes — what the function sends past it stays in its own kernel's buffer); no event.
  - GET /bytes/N: N bytes of payload; {"kind":"download","requested":N,"written":<bytes accepted by send()>,
    "acked":<bytes the client's kernel acknowledged (TCP_INFO tcpi_bytes_acked)>,"error":<str|None>} — written when
    the connection ends; `error` is how it ended when that was not a clean close ("Connection reset by peer").
A connection reset before its first request head was complete is reported as an upload of 0 bytes.
`acked` is what crossed the wire and reached the function's kernel; `written` also counts what was still in this
server's send buffer when the connection was reset (never delivered). Standard library only; one thread per connection.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import threading
import time

TCP_INFO_BYTES_ACKED = 120  # offset of tcpi_bytes_acked (u64) in struct tcp_info (linux/tcp.h)
CHUNK = 64 * 1024
lock = threading.Lock()


def emit(event: dict[str, object]) -> None:
    with lock:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()


def bytes_acked(conn: socket.socket) -> int:
    info = conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    if len(info) < TCP_INFO_BYTES_ACKED + 8:
        return -1
    return int(struct.unpack_from("<Q", info, TCP_INFO_BYTES_ACKED)[0])


class Reader:
    """Buffered reads from the connection, counting body bytes separately from the header."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.buf = b""

    def fill(self) -> bool:
        data = self.conn.recv(CHUNK)
        if not data:
            return False
        self.buf += data
        return True

    def line(self) -> bytes | None:
        while b"\r\n" not in self.buf:
            if len(self.buf) > 65536 or not self.fill():
                return None
        head, _, self.buf = self.buf.partition(b"\r\n")
        return head

    def take(self, limit: int) -> bytes:
        if not self.buf and not self.fill():
            return b""
        out, self.buf = self.buf[:limit], self.buf[limit:]
        return out


def read_headers(r: Reader) -> tuple[str, str, dict[str, str]] | None:
    request = r.line()
    if not request:
        return None
    method, target, _ = request.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        h = r.line()
        if h is None:
            return None
        if h == b"":
            return method, target, headers
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()


class Body:
    """The upload body as it arrives: `received` stays right when the connection dies mid-body."""

    def __init__(self) -> None:
        self.received = 0

    def read(self, r: Reader, headers: dict[str, str]) -> bool:
        """Reads the body; True when the declared body was complete."""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size_line = r.line()
                if size_line is None:
                    return False
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    r.line()
                    return True
                if not self.take(r, size) or r.line() is None:
                    return False
        return self.take(r, int(headers.get("content-length", "0")))

    def take(self, r: Reader, n: int) -> bool:
        while n:
            part = r.take(min(n, CHUNK))
            if not part:
                return False
            self.received += len(part)
            n -= len(part)
        return True


def serve(conn: socket.socket) -> None:
    r = Reader(conn)
    requests = 0
    try:
        while True:
            try:
                req = read_headers(r)
            except OSError as e:  # reset before a whole request head arrived: an upload that got nowhere
                if requests == 0:
                    emit({"kind": "upload", "received": 0, "complete": False, "error": e.strerror or str(e)})
                return
            if req is None:
                if requests == 0 and r.buf:
                    emit({"kind": "upload", "received": 0, "complete": False, "error": "closed in the request head"})
                return
            requests += 1
            method, target, headers = req
            if headers.get("expect", "").lower() == "100-continue":
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            if method == "POST" and target == "/stall":
                time.sleep(10)
                return
            if method in ("POST", "PUT"):
                body, complete, error = Body(), False, None
                try:
                    complete = body.read(r, headers)
                except OSError as e:
                    error = e.strerror or str(e)
                emit({"kind": "upload", "received": body.received, "complete": complete, "error": error})
                if not complete:
                    return
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
            elif target.startswith("/bytes/"):
                n = int(target[len("/bytes/") :])
                written, error = 0, None
                try:
                    conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n".encode())
                    block = b"d" * CHUNK
                    while written < n:
                        written += conn.send(block[: min(CHUNK, n - written)])
                except OSError as e:
                    error = e.strerror or str(e)
                if error is None:
                    try:  # wait for the client to finish or reset: bytes_acked is final then
                        conn.settimeout(60)
                        while conn.recv(CHUNK):
                            pass
                    except OSError as e:
                        error = e.strerror or str(e)
                emit(
                    {"kind": "download", "requested": n, "written": written, "acked": bytes_acked(conn), "error": error}
                )
                return
            else:
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    except OSError:
        return
    finally:
        conn.close()


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(64)
    emit({"kind": "ready", "port": srv.getsockname()[1]})
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
