"""Devices that stop reading or vanish: disconnected, without the server holding more for them."""
from __future__ import annotations

import asyncio
import json

import psutil
import pytest
from aiohttp import WSMsgType

from server.appkeys import HUB, SETTINGS
from server.gateway.events import emit
from server.gateway.frames import encode_frame
from server.observability import WS_SLOW_CLOSED
from tests.factories import person
from tests.server.gateway.sockets import SilentDevice, connect, token_of, wait_until


async def test_a_device_that_stops_reading_is_disconnected_with_a_bounded_send_buffer(client, db, app):
    app[SETTINGS].ws_send_buffer_kb = 256
    app[SETTINGS].ws_heartbeat_s = 60.0
    hub = app[HUB]
    alice = await person(client, db)
    silent = SilentDevice(client.host, client.port, token_of(alice.headers))
    await silent.open()
    try:
        await wait_until(lambda: hub.local_connections(alice.id))
        (connection,) = hub.local_connections(alice.id)
        transport = connection._transport
        frame = encode_frame({"type": "test.blob", "blob": "x" * 65536})
        closed_before = WS_SLOW_CLOSED._value.get()
        rss_before = psutil.Process().memory_info().rss
        offered = buffered_max = 0
        for _ in range(4000):  # 256 MB offered if nothing stopped it
            offered += hub.send_to_users([alice.id], frame)
            buffered_max = max(buffered_max, transport.get_write_buffer_size())
            await asyncio.sleep(0)
        rss_growth = psutil.Process().memory_info().rss - rss_before

        await wait_until(lambda: not hub.local_connections(alice.id))
        assert WS_SLOW_CLOSED._value.get() == closed_before + 1
        assert buffered_max <= 256 * 1024 + len(frame) + 16, f"{buffered_max} bytes buffered for one socket"
        assert offered < 4000, "the slow reader was never cut off"
        assert rss_growth < 64 << 20, f"server memory grew by {rss_growth >> 20} MB"
        # The TCP connection is gone too: reading what was buffered ends in EOF or a reset.
        loop = asyncio.get_running_loop()
        received_eof = False
        try:
            while chunk := await asyncio.wait_for(loop.sock_recv(silent.sock, 1 << 20), 5):
                pass
            received_eof = True
        except ConnectionResetError:
            received_eof = True
        assert received_eof
    finally:
        silent.close()


async def test_a_device_that_misses_heartbeats_is_dropped_while_a_live_one_stays(client, db, app):
    app[SETTINGS].ws_heartbeat_s = 0.3
    hub = app[HUB]
    gone: list[int] = []
    hub.on_disconnect(lambda connection: gone.append(connection.user_id))
    alice, bob = await person(client, db), await person(client, db)
    silent = SilentDevice(client.host, client.port, token_of(alice.headers))
    await silent.open()
    live = await connect(client.session, str(client.make_url("/api/v1/ws")), token_of(bob.headers))
    await live.until_ready()
    try:
        await wait_until(lambda: hub.local_connections(alice.id))
        # The live device answers pings while it waits for frames (aiohttp replies to pings inside receive).
        reading = asyncio.create_task(live.ws.receive())
        await wait_until(lambda: not hub.local_connections(alice.id), timeout=3)
        await asyncio.sleep(1.0)  # several more heartbeat periods
        assert not reading.done(), "the live device was closed too"
        assert hub.local_connections(bob.id)
        assert gone == [alice.id]
        reading.cancel()
    finally:
        silent.close()


async def test_the_hub_pings_a_quiet_device_that_answers_and_answers_its_pings(client, db, app):
    app[SETTINGS].ws_heartbeat_s = 0.3
    hub = app[HUB]
    alice = await person(client, db)
    ws = await client.session.ws_connect(str(client.make_url("/api/v1/ws")), autoping=False)
    await ws.send_str(json.dumps({"type": "hello", "token": token_of(alice.headers), "user_seq": 0}))
    assert json.loads((await ws.receive(timeout=5)).data)["type"] == "ready"
    pings = 0
    deadline = asyncio.get_running_loop().time() + 1.5  # five heartbeat periods
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            msg = await ws.receive(timeout=left)
        except asyncio.TimeoutError:
            break
        assert msg.type == WSMsgType.PING, msg
        pings += 1
        await ws.pong(msg.data)
    assert 2 <= pings <= 6, f"{pings} pings in five heartbeat periods"
    assert hub.local_connections(alice.id), "a device that answered every ping was dropped"
    await ws.ping(b"are you there")
    msg = await ws.receive(timeout=5)
    while msg.type == WSMsgType.PING:
        await ws.pong(msg.data)
        msg = await ws.receive(timeout=5)
    assert (msg.type, msg.data) == (WSMsgType.PONG, b"are you there")
    await ws.close()


@pytest.mark.parametrize("backend", ["sqlite"])  # about storage only in how the events got there
async def test_a_device_that_stops_reading_during_its_replay_is_dropped(client, db, app):
    app[SETTINGS].ws_heartbeat_s = 0.3
    hub = app[HUB]
    alice = await person(client, db)
    async with db.transaction() as tx:
        for n in range(400):  # ~19 MB: more than the kernel buffers between server and device
            await emit(tx, [alice.id], "test.blob", {"n": n, "blob": "x" * 48_000})
    silent = SilentDevice(client.host, client.port, token_of(alice.headers))
    await silent.open()
    try:
        await wait_until(lambda: hub.local_connections(alice.id))
        (connection,) = hub.local_connections(alice.id)
        await wait_until(lambda: not hub.local_connections(alice.id), timeout=10)
        assert connection.cursor.last_seq < 400, "the whole replay fit in buffers; the test did not block the device"
        loop = asyncio.get_running_loop()
        with pytest.raises((ConnectionResetError, asyncio.TimeoutError)) as ended:
            while await asyncio.wait_for(loop.sock_recv(silent.sock, 1 << 20), 10):
                pass
            raise ConnectionResetError("clean EOF")
        assert ended.type is ConnectionResetError, "the server kept the TCP connection open"
    finally:
        silent.close()
