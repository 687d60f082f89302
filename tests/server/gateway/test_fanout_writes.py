"""The fan-out's writes in C (server/gateway/_fanout.c): exact bytes, partial writes, and order with the transport's buffer.

Each hub ``Connection`` here sits on one end of a loopback TCP connection with
a real asyncio transport; the other end, the device's, is read byte for byte.
"""
from __future__ import annotations

import asyncio
import socket
from types import SimpleNamespace

import pytest

from server.config import Settings
from server.gateway.frames import PING_MESSAGE, text_message
from server.gateway.hub import Connection, Hub


class Pair:
    """A hub connection for user ``user_id`` on a socket pair; ``peer`` is the device's end."""

    def __init__(self, hub: Hub, user_id: int, transport: asyncio.Transport, peer: socket.socket, buffer_limit: int) -> None:
        self.transport, self.peer = transport, peer
        self.ws = SimpleNamespace(closed=False)
        request = SimpleNamespace(transport=transport, protocol=transport.get_protocol())
        principal = SimpleNamespace(user_id=user_id, session_id=user_id)
        self.connection = Connection(
            self.ws, request, None, principal, db=None, hold_limit=8, buffer_limit=buffer_limit, stall_s=1.0, after_seq=0
        )
        hub.register(self.connection)
        self.writes: list[bytes] = []  # what went through the transport rather than straight to the socket
        real_write = transport.write
        transport.write = lambda data: (self.writes.append(bytes(data)), real_write(data))

    async def read(self, size: int) -> bytes:
        loop = asyncio.get_running_loop()
        received = bytearray()
        while len(received) < size:
            chunk = await asyncio.wait_for(loop.sock_recv(self.peer, size - len(received)), 5)
            assert chunk, f"connection closed after {len(received)} of {size} bytes"
            received += chunk
        return bytes(received)

    def nothing_more(self) -> bool:
        try:
            return not self.peer.recv(1, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return True


@pytest.fixture
async def hub(tmp_path):
    hub = Hub(None, Settings(data_dir=tmp_path, ws_send_threads=3))
    yield hub
    hub.detach()


@pytest.fixture
async def pairs(hub):
    made: list[Pair] = []
    listener = socket.create_server(("127.0.0.1", 0), backlog=1024)

    async def make(count: int, *, send_buffer: int = 0, buffer_limit: int = 1 << 20, tls: bool = False) -> list[Pair]:
        loop = asyncio.get_running_loop()
        for _ in range(count):
            peer = socket.create_connection(listener.getsockname())
            ours, _ = listener.accept()
            if send_buffer:
                ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
            peer.setblocking(False)
            transport, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
            if tls:  # what a TLS transport says; its socket would carry ciphertext
                extra = transport.get_extra_info
                transport.get_extra_info = lambda name, default=None: object() if name == "ssl_object" else extra(name, default)
            made.append(Pair(hub, len(made) + 1, transport, peer, buffer_limit))
        return made[-count:]

    yield make
    listener.close()
    for pair in made:
        pair.transport.abort()
        pair.peer.close()
    await asyncio.sleep(0)


@pytest.mark.parametrize("size", [0, 125, 126, 70_000])
async def test_every_socket_receives_exactly_the_message_written_straight_to_it_over_three_threads(hub, pairs, size):
    group = await pairs(900)  # 900 sockets: three threads of 300
    frame = ("é" * (size // 2)).encode()
    message = text_message(frame)

    assert hub.send_to_users([p.connection.user_id for p in group], frame) == 900
    for pair in group:
        assert await pair.read(len(message)) == message
        assert pair.nothing_more()
        assert pair.writes == [], "an idle socket's message went through the transport"


async def test_a_socket_that_takes_part_of_the_message_gets_the_rest_through_its_transport_in_order(hub, pairs):
    (pair,) = await pairs(1, send_buffer=4096)
    big, small = bytes(range(256)) * 4096, b'{"type":"second"}'  # 1 MiB: far more than the socket takes at once
    first, second = text_message(big), text_message(small)

    assert hub.send_to_users([1], big) == 1
    (rest,) = pair.writes
    assert 0 < len(rest) < len(first) and first.endswith(rest), "the transport got something else than the message's tail"
    assert pair.transport.get_write_buffer_size() > 0
    # The transport now holds bytes: the next message queues behind them instead of going to the socket.
    assert hub.send_to_users([1], small) == 1
    assert pair.writes[1] == second

    assert await pair.read(len(first) + len(second)) == first + second
    assert pair.nothing_more()


async def test_what_aiohttp_wrote_first_leaves_first(hub, pairs):
    """aiohttp writes pings, pongs and the close frame to the transport: a fan-out message must never overtake them."""
    (pair,) = await pairs(1, send_buffer=4096)
    pair.transport.write(b"\x01" * 300_000)  # more than the socket takes: the rest waits in the transport
    pair.transport.write(PING_MESSAGE)
    message = text_message(b"{}")

    assert hub.send_to_users([1], b"{}") == 1
    assert pair.writes[-1] == message, "the message did not queue behind the transport's bytes"
    assert await pair.read(300_000 + 2 + len(message)) == b"\x01" * 300_000 + PING_MESSAGE + message


async def test_a_device_that_stops_reading_is_closed_once_its_buffer_passes_the_limit(hub, pairs):
    (pair,) = await pairs(1, send_buffer=4096, buffer_limit=64 * 1024)
    frame = b"x" * 50_000
    sent = [hub.send_to_users([1], frame) for _ in range(20)]

    assert sent.count(1) < 20 and sent[-1] == 0
    assert pair.connection.closed
    assert pair.transport.get_write_buffer_size() <= 64 * 1024 + len(frame) + 16


async def test_closed_sockets_are_skipped_and_a_reset_one_is_closed_by_its_transport(hub, pairs):
    closed, closing_ws, reset, live = await pairs(4)
    closed.connection.closed = True
    closing_ws.ws.closed = True  # aiohttp sent its close frame: nothing may follow it
    reset.peer.close()
    users = [p.connection.user_id for p in (closed, closing_ws, reset, live)]

    hub.send_to_users(users, b"{}")
    await asyncio.sleep(0.05)  # the reset comes back
    hub.send_to_users(users, b"{}")
    await asyncio.sleep(0)

    assert closed.nothing_more() and closing_ws.nothing_more()
    assert closing_ws.connection.closed
    assert reset.transport.is_closing(), "the transport did not see the reset"
    assert await live.read(2 * len(text_message(b"{}"))) == text_message(b"{}") * 2


async def test_a_tls_socket_is_never_written_to_directly(hub, pairs):
    (pair,) = await pairs(1, tls=True)
    message = text_message(b"{}")

    assert hub.send_to_users([1], b"{}") == 1
    assert pair.writes == [message], "the message did not go through the TLS transport"
    assert await pair.read(len(message)) == message
