"""Just enough HTTP/1.1 for a benchmark's load generator: keep-alive connections that send prepared requests.

A raw asyncio protocol rather than an HTTP client library, for the reason of
rawws.py: the load generator shares the machine's cores with the server it
measures, so a request should cost it a write and a little parsing, no objects
of a client library. One request at a time per connection; answers must carry a
``Content-Length`` (aiohttp's JSON answers do).
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable


def request_bytes(method: str, host: str, path: str, token: str, body: bytes = b"") -> bytes:
    head = (f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


class HttpConnection(asyncio.Protocol):
    """A keep-alive connection; ``on_answer(connection, status, body)`` is called for each answer, and with status 0
    (and an empty body) if the connection is lost while a request waits for its answer."""

    def __init__(self, on_answer: Callable[["HttpConnection", int, bytes], None]) -> None:
        self.on_answer = on_answer
        self.transport: asyncio.Transport | None = None
        self.waiting = False
        self.closed = False
        self.buffer = b""
        self.status = 0
        self.length = -1  # the awaited body's length; -1 while the head is not read yet

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        self.closed = True
        if self.waiting:
            self.waiting = False
            self.on_answer(self, 0, b"")

    def send(self, request: bytes) -> None:
        self.waiting = True
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.length < 0:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = self.buffer[:end].lower()
                self.status = int(head[9:12])
                at = head.find(b"\r\ncontent-length:")
                if at < 0:
                    raise ValueError(f"an answer without Content-Length: {head[:200]!r}")
                stop = head.find(b"\r\n", at + 2)
                self.length = int(head[at + 17 : stop if stop > 0 else len(head)])
                self.buffer = self.buffer[end + 4 :]
            if len(self.buffer) < self.length:
                return
            body, self.buffer = self.buffer[: self.length], self.buffer[self.length :]
            self.length = -1
            self.waiting = False
            self.on_answer(self, self.status, body)
