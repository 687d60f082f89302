"""Device sockets for the gateway tests: a well-behaved device, and a raw one that never reads.

The well-behaved device uses aiohttp's client over a real TCP socket. The raw
one speaks just enough RFC 6455 by hand (handshake, one masked text frame) to
say hello and then stop reading, with a tiny receive buffer, the way a phone
that lost its radio looks to the server.
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct

import aiohttp
from aiohttp import WSMsgType

from server.db import Database
from server.gateway.events import emit
from tests.factories import PASSWORD


class Device:
    """One device's socket: ``hello`` then the frames the server sends, as dicts."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def next_frame(self, timeout: float = 5.0) -> dict:
        msg = await self.ws.receive(timeout=timeout)
        assert msg.type == WSMsgType.TEXT, f"expected a text frame, got {msg.type} {msg.data!r} {msg.extra!r}"
        return json.loads(msg.data)

    async def until_ready(self, timeout: float = 10.0) -> tuple[list[dict], dict]:
        """The replayed events, then the ready frame."""
        events = []
        while True:
            frame = await self.next_frame(timeout)
            if frame["type"] == "ready":
                return events, frame
            assert frame["type"] == "event", frame
            events.append(frame)

    async def events(self, count: int, timeout: float = 10.0) -> list[dict]:
        frames = [await self.next_frame(timeout) for _ in range(count)]
        assert all(f["type"] == "event" for f in frames), frames
        return frames

    async def send(self, frame: dict) -> None:
        await self.ws.send_str(json.dumps(frame))

    async def closed_with(self, timeout: float = 5.0) -> int | None:
        """Read until the server closes; the close code."""
        while True:
            msg = await self.ws.receive(timeout=timeout)
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING, WSMsgType.ERROR):
                return self.ws.close_code

    async def close(self) -> None:
        await self.ws.close()


async def sign_in(http: aiohttp.ClientSession, node: str, email: str, device_name: str) -> tuple[str, int]:
    """Log in over HTTP on ``node`` (a base URL): the new device's token and session id."""
    resp = await http.post(f"{node}/api/v1/auth/login", json={"email": email, "password": PASSWORD, "device_name": device_name})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    return body["token"], body["session_id"]


async def connect(session: aiohttp.ClientSession, url: str, token: str, user_seq: int = 0, **hello) -> Device:
    ws = await session.ws_connect(url, autoping=True)
    await ws.send_str(json.dumps({"type": "hello", "token": token, "user_seq": user_seq, **hello}))
    return Device(ws)


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def emit_to(db: Database, user_ids: list[int], type: str = "test.ping", data: dict | None = None) -> dict[int, int]:
    async with db.transaction() as tx:
        return await emit(tx, user_ids, type, data if data is not None else {})


async def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


class SilentDevice:
    """Says hello over a raw TCP socket, then never reads again."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self.sock: socket.socket | None = None

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await loop.sock_connect(sock, (self.host, self.port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /api/v1/ws HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await loop.sock_sendall(sock, request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            response += await loop.sock_recv(sock, 1)
        assert response.startswith(b"HTTP/1.1 101"), response
        await loop.sock_sendall(sock, _masked_text_frame(json.dumps({"type": "hello", "token": self.token, "user_seq": 0})))
        self.sock = sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


def _masked_text_frame(text: str) -> bytes:
    payload = text.encode()
    mask = os.urandom(4)
    header = bytes([0x81])
    if len(payload) < 126:
        header += bytes([0x80 | len(payload)])
    else:
        header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
