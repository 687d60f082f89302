"""Just enough RFC 6455 for a benchmark's devices: the upgrade, ``hello``, pings answered, text frames handed on.

A raw asyncio protocol rather than a WebSocket library: the devices share the
machine with the server, and their parsing should cost it as little as possible.
Subclasses say what a text frame means to them (``on_text``).
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import time


def masked_text(payload: bytes, opcode: int = 0x1) -> bytes:
    """A client-to-server WebSocket message (RFC 6455 §5.3: clients mask), masked with one big-integer XOR."""
    mask = os.urandom(4)
    n = len(payload)
    header = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big"))
    masked = int.from_bytes(payload, "big") ^ int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    return header + mask + masked.to_bytes(n, "big")


class RawDevice(asyncio.Protocol):
    """A device socket on ``/api/v1/ws``; ``ready`` is settled by the subclass on the server's ``ready`` frame."""

    def __init__(self, host: str, port: int, token: str, ready: asyncio.Future) -> None:
        self.request = (f"GET /api/v1/ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
        self.hello = masked_text(json.dumps({"type": "hello", "token": token, "user_seq": 0}).encode())
        self.ready = ready
        self.buffer = b""
        self.upgraded = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"closed before ready: {exc}"))

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self.buffer + data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buf
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.ready.set_exception(ConnectionError(buf[:200].decode(errors="replace")))
                self.transport.close()
                return
            self.upgraded = True
            buf = buf[end + 4 :]
            self.transport.write(self.hello)
        pos = 0
        while len(buf) - pos >= 2:
            opcode, length, head = buf[pos] & 0x0F, buf[pos + 1] & 0x7F, 2
            if length == 126:
                if len(buf) - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if len(buf) - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if len(buf) - pos < head + length:
                break
            payload = buf[pos + head : pos + head + length]
            pos += head + length
            if opcode == 0x1:
                self.on_text(payload, now)
            elif opcode == 0x9:
                self.transport.write(masked_text(payload, 0xA))
        self.buffer = buf[pos:]

    def on_text(self, payload: bytes, now: float) -> None:
        raise NotImplementedError


async def connect_all(make_device, tokens, host: str, port: int, concurrency: int, *, attempts: int = 5, timeout_s: float = 120):
    """A device per token (``make_device(token, ready)``), ``concurrency`` handshakes at a time, each tried up to
    ``attempts`` times (on a loaded machine a handshake can time out): the devices ready, and the last failure of each
    token that never connected."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)
    devices: list[RawDevice] = []

    async def connect(token: str) -> None:
        for attempt in range(attempts):
            async with gate:
                ready = loop.create_future()
                device = make_device(token, ready)
                try:
                    await loop.create_connection(lambda: device, host, port)
                    await asyncio.wait_for(ready, timeout_s)
                    devices.append(device)
                    return
                except (OSError, TimeoutError):
                    if device.transport is not None:
                        device.transport.close()
                    if attempt == attempts - 1:
                        raise
            await asyncio.sleep(1.0)

    results = await asyncio.gather(*(connect(t) for t in tokens), return_exceptions=True)
    return devices, [r for r in results if isinstance(r, BaseException)]
