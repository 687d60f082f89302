"""Resume and ordering: each sequence number reaches a device once, in order, across reconnects,
concurrent emits during the replay, and out-of-order or lost bus messages."""
from __future__ import annotations

import asyncio
import json

from server.appkeys import BUS, SETTINGS
from server.db import Database
from server.gateway.events import USER_EVENTS_CHANNEL, emit
from tests.factories import person
from tests.server.gateway.sockets import connect, emit_to, token_of


def ws_url(client) -> str:
    return str(client.make_url("/api/v1/ws"))


async def test_reconnect_after_missing_events_replays_exactly_the_missed_ones(client, db, backend):
    alice = await person(client, db)
    device = await connect(client.session, ws_url(client), token_of(alice.headers))
    await device.until_ready()
    for n in range(3):
        await emit_to(db, [alice.id], "test.n", {"n": n})
    seen = [e["seq"] for e in await device.events(3)]
    await device.close()

    for n in range(3, 8):
        await emit_to(db, [alice.id], "test.n", {"n": n})
    device = await connect(client.session, ws_url(client), token_of(alice.headers), user_seq=seen[-1])
    replayed, ready = await device.until_ready()
    assert seen == [1, 2, 3]
    assert [e["seq"] for e in replayed] == [4, 5, 6, 7, 8]
    assert [e["data"]["n"] for e in replayed] == [3, 4, 5, 6, 7]
    assert ready["user_seq"] == 8


async def test_emits_during_the_replay_arrive_once_each_in_order(client, db, app, backend):
    # A small queue makes replay pages of 4 events and holds at most 8 live ones:
    # the replay is long enough to overlap the emits, and the hold overflows.
    app[SETTINGS].ws_send_queue = 8
    alice = await person(client, db)
    async with db.transaction() as tx:
        for n in range(450):  # many replay pages
            await emit(tx, [alice.id], "test.n", {"n": n})

    async def keep_emitting() -> None:
        for n in range(450, 520):
            await emit_to(db, [alice.id], "test.n", {"n": n})
            await asyncio.sleep(0)

    emitting = asyncio.create_task(keep_emitting())
    device = await connect(client.session, ws_url(client), token_of(alice.headers), user_seq=0)
    replayed, ready = await device.until_ready()
    await emitting
    live = await device.events(520 - ready["user_seq"]) if ready["user_seq"] < 520 else []
    seqs = [e["seq"] for e in replayed + live]
    assert seqs == list(range(1, 521))
    assert len(replayed) > 450, "no emit overlapped the replay; the test did not test what it says"
    assert [e["data"]["n"] for e in replayed + live] == list(range(520))


async def test_a_gap_in_live_events_is_filled_from_the_database_and_late_duplicates_dropped(client, db, app, settings):
    """Events stored without telling the bus, then announced out of order, as racing publishes would."""
    alice = await person(client, db)
    device = await connect(client.session, ws_url(client), token_of(alice.headers))
    await device.until_ready()
    silent = Database(settings.database_url)  # no bus: stores events, announces nothing
    try:
        for n in range(1, 4):
            await emit_to(silent, [alice.id], "test.n", {"n": n})
    finally:
        await silent.close()

    def announce(seq: int) -> bytes:
        return json.dumps({"users": [[alice.id, seq]], "type": "test.n", "data": {"n": seq}, "at": "2026-01-01T00:00:00+00:00"}).encode()

    await app[BUS].publish(USER_EVENTS_CHANNEL, announce(3))
    await app[BUS].publish(USER_EVENTS_CHANNEL, announce(2))
    await app[BUS].publish(USER_EVENTS_CHANNEL, announce(1))
    await emit_to(db, [alice.id], "test.n", {"n": 4})
    events = await device.events(4)
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    assert [e["data"]["n"] for e in events] == [1, 2, 3, 4]
    await device.send({"type": "ping"})
    assert await device.next_frame() == {"type": "pong"}  # nothing else was queued before it


async def test_a_device_ahead_of_the_stream_is_told_the_real_position(client, db):
    alice = await person(client, db)
    await emit_to(db, [alice.id])
    device = await connect(client.session, ws_url(client), token_of(alice.headers), user_seq=40)
    replayed, ready = await device.until_ready()
    assert replayed == [] and ready["user_seq"] == 1
    await emit_to(db, [alice.id])
    assert [e["seq"] for e in await device.events(1)] == [2]


async def test_two_devices_of_one_user_each_get_every_event(client, db):
    alice = await person(client, db)
    token = token_of(alice.headers)
    phone = await connect(client.session, ws_url(client), token)
    laptop = await connect(client.session, ws_url(client), token)
    await phone.until_ready()
    await laptop.until_ready()
    await emit_to(db, [alice.id])
    await emit_to(db, [alice.id])
    assert [e["seq"] for e in await phone.events(2)] == [1, 2]
    assert [e["seq"] for e in await laptop.events(2)] == [1, 2]
