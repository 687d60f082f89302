"""The device WebSocket: hello, authentication, events with their sequence numbers, client frames."""
from __future__ import annotations

import asyncio
import json

from aiohttp import WSMsgType

from server.gateway.frames import CLOSE_GOING_AWAY, CLOSE_PROTOCOL, CLOSE_UNAUTHENTICATED
from tests.factories import person
from tests.server.gateway.sockets import connect, emit_to, token_of


def ws_url(client) -> str:
    return str(client.make_url("/api/v1/ws"))


async def test_a_bad_token_is_closed_with_4001(client):
    device = await connect(client.session, ws_url(client), "mst_" + "x" * 43)
    assert await device.closed_with() == CLOSE_UNAUTHENTICATED


async def test_a_first_frame_that_is_not_hello_is_closed_with_4000(client, db):
    alice = await person(client, db)
    ws = await client.session.ws_connect(ws_url(client))
    await ws.send_str(json.dumps({"type": "ping", "token": token_of(alice.headers)}))
    msg = await ws.receive(timeout=5)
    assert msg.type == WSMsgType.CLOSE and ws.close_code == CLOSE_PROTOCOL


async def test_hello_gets_ready_with_the_stream_position_and_session(client, db):
    alice = await person(client, db)
    device = await connect(client.session, ws_url(client), token_of(alice.headers))
    events, ready = await device.until_ready()
    me = await (await client.get("/api/v1/me/devices", headers=alice.headers)).json()
    assert events == []
    assert ready == {"type": "ready", "user_seq": 0, "user_id": alice.id, "session_id": me[0]["id"]}


async def test_an_emitted_event_arrives_live_with_its_seq(client, db, backend):
    alice, bob = await person(client, db), await person(client, db)
    device = await connect(client.session, ws_url(client), token_of(alice.headers))
    await device.until_ready()
    await emit_to(db, [alice.id, bob.id], "test.hello", {"text": "hi", "n": 1})
    await emit_to(db, [alice.id], "test.hello", {"text": "again", "n": 2})
    first, second = await device.events(2)
    assert (first["seq"], first["event"], first["data"]) == (1, "test.hello", {"text": "hi", "n": 1})
    assert (second["seq"], second["data"]["n"]) == (2, 2)
    assert first["at"].endswith("+00:00")


async def test_ping_gets_pong_and_the_socket_stays_usable(client, db):
    alice = await person(client, db)
    device = await connect(client.session, ws_url(client), token_of(alice.headers))
    await device.until_ready()
    await device.send({"type": "ping"})
    assert await device.next_frame() == {"type": "pong"}


async def test_unknown_frame_type_is_an_error_frame_not_a_close(client, db):
    alice = await person(client, db)
    device = await connect(client.session, ws_url(client), token_of(alice.headers))
    await device.until_ready()
    await device.send({"type": "teleport", "ref": 7})
    error = await device.next_frame()
    assert error["type"] == "error" and error["error"]["code"] == "unknown_type" and error["ref"] == 7
    assert "teleport" in error["error"]["message"]
    await device.send({"type": "ping"})
    assert await device.next_frame() == {"type": "pong"}


async def test_bad_json_and_non_objects_are_error_frames(client, db):
    alice = await person(client, db)
    device = await connect(client.session, ws_url(client), token_of(alice.headers))
    await device.until_ready()
    await device.ws.send_str("{nope")
    assert (await device.next_frame())["error"]["code"] == "malformed_json"
    await device.ws.send_str("[1, 2]")
    assert (await device.next_frame())["error"]["code"] == "invalid"
    await device.ws.send_bytes(b"\x00\x01")
    assert (await device.next_frame())["error"]["code"] == "invalid"
    await device.send({"type": "ping"})
    assert await device.next_frame() == {"type": "pong"}


async def test_json_the_server_could_not_parse_or_send_on_is_an_error_frame_and_the_socket_stays_open(client, db):
    alice = await person(client, db)
    device = await connect(client.session, ws_url(client), token_of(alice.headers))
    await device.until_ready()
    for text, code in [
        ("[" * 100_000, "malformed_json"),  # nesting too deep to parse
        ('{"type":"ping","ref":' + "9" * 5000 + "}", "malformed_json"),  # an integer too long to convert
        ('{"type":"ping","ref":NaN}', "malformed_json"),  # not JSON, and no browser could read it echoed back
        ('{"type":"teleport","ref":"\\ud800"}', "invalid"),  # an unpaired surrogate cannot be encoded again
        ('{"type":"\\udfff"}', "invalid"),
    ]:
        await device.ws.send_str(text)
        error = await device.next_frame()
        assert error["type"] == "error" and error["error"]["code"] == code, (text[:40], error)
    await device.ws.send_str('{"type":"teleport","ref":"\\ud83d\\ude00"}')  # a surrogate pair is one character
    assert (await device.next_frame())["ref"] == "\U0001f600"
    await device.send({"type": "ping"})
    assert await device.next_frame() == {"type": "pong"}


async def test_a_guest_may_connect_and_the_hub_knows_its_scope(client, db, app):
    from server.accounts.auth import GuestScope, issue_session
    from server.appkeys import HUB
    from tests.factories import make_org, make_user

    owner = await make_user(db)
    org = await make_org(db, owner)
    guest = await make_user(db)
    async with db.transaction() as tx:
        token, _ = await issue_session(tx, guest, days=1, guest=GuestScope(org.id, "meeting", 5))
    device = await connect(client.session, ws_url(client), token)
    await device.until_ready()
    (connection,) = app[HUB].local_connections(guest.id)
    assert connection.principal.is_guest and connection.principal.may_see("meeting", 5)
    assert not connection.principal.may_see("meeting", 6)


async def test_a_node_that_shuts_down_closes_its_sockets_with_1001(client, db):
    alice = await person(client, db)
    device = await connect(client.session, ws_url(client), token_of(alice.headers))
    await device.until_ready()
    closing = asyncio.create_task(client.server.close())
    assert await device.closed_with() == CLOSE_GOING_AWAY
    await closing


async def test_a_hello_is_one_transaction_reading_the_session_then_one_page_of_stored_events(client, db, app):
    """What 20,000 devices connecting at once cost the database: one session lookup and one range of ``user_events``
    on one connection, plus the stream position only for a device that resumes (``user_seq`` above 0)."""
    from sqlalchemy import event

    from server.appkeys import DB

    alice = await person(client, db)
    await emit_to(db, [alice.id], "test.hello", {"n": 1})
    sent: list[tuple[object, str]] = []

    def record(conn, _cursor, statement, *_args) -> None:
        if any(table in statement for table in ("device_sessions", "user_streams", "user_events")):
            sent.append((conn, statement.split("FROM", 1)[1].split()[0] if "FROM" in statement else statement.split()[0]))

    engine = app[DB].engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        first = await connect(client.session, ws_url(client), token_of(alice.headers))
        events, ready = await first.until_ready()
        fresh, sent[:] = list(sent), []
        again = await connect(client.session, ws_url(client), token_of(alice.headers), user_seq=1)
        replayed, _ = await again.until_ready()
        resumed = list(sent)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert [e["seq"] for e in events] == [1] and ready["user_seq"] == 1 and replayed == []
    assert [table for _, table in fresh] == ["device_sessions", "user_events"] and len({conn for conn, _ in fresh}) == 1
    assert [table for _, table in resumed] == ["device_sessions", "user_streams", "user_events"] and len({conn for conn, _ in resumed}) == 1
