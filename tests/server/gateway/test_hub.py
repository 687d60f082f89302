"""The hub's API for capabilities: fan-out of one frame, client frame handlers, connection hooks."""
from __future__ import annotations

import gc
import weakref

import pytest

from server.appkeys import HUB, SETTINGS
from server.errors import Forbidden
from server.gateway import hub as hub_module
from server.gateway.frames import encode_frame, text_message
from tests.factories import person
from tests.server.gateway.sockets import connect, token_of, wait_until


async def ready_device(client, someone):
    device = await connect(client.session, str(client.make_url("/api/v1/ws")), token_of(someone.headers))
    await device.until_ready()
    return device


async def test_send_to_users_writes_one_shared_message_to_each_local_socket(client, db, app, monkeypatch):
    hub = app[HUB]
    alice, bob, carol = [await person(client, db) for _ in range(3)]
    alice_phone, alice_laptop, bob_phone = [await ready_device(client, p) for p in (alice, alice, bob)]
    built: list[bytes] = []
    monkeypatch.setattr(hub_module, "text_message", lambda frame: built.append(text_message(frame)) or built[-1])
    frame = encode_frame({"type": "group.message", "text": "héllo"})

    assert hub.send_to_users([alice.id, bob.id, carol.id], frame) == 3
    assert built == [text_message(frame)], "the message was not built exactly once"
    for device in (alice_phone, alice_laptop, bob_phone):
        assert await device.next_frame() == {"type": "group.message", "text": "héllo"}
    assert set(hub.local_user_ids()) == {alice.id, bob.id}
    assert {c.user_id for c in hub.local_connections(alice.id)} == {alice.id}
    assert len(hub.local_connections(alice.id)) == 2 and hub.local_connections(carol.id) == frozenset()


async def test_text_message_framing_matches_rfc_6455_at_each_length_form(client, db, app):
    """Short, 16-bit and 64-bit lengths (the server's own frames are unmasked), read back by aiohttp's client."""
    hub = app[HUB]
    alice = await person(client, db)
    device = await ready_device(client, alice)
    for size in (0, 125, 126, 65535, 65536, 200_000):
        frame = encode_frame({"type": "test.blob", "blob": "é" * (size // 2)})
        head = text_message(frame)[: len(text_message(frame)) - len(frame)]
        assert head[0] == 0x81 and len(head) == (2 if len(frame) < 126 else 4 if len(frame) < 65536 else 10)
        hub.send_to_users([alice.id], frame)
        assert (await device.next_frame())["blob"] == "é" * (size // 2)


async def test_client_frames_reach_the_handler_of_their_type(client, db, app):
    hub = app[HUB]
    received = []

    async def on_raise_hand(connection, message):
        received.append((connection.user_id, message))
        connection.send(encode_frame({"type": "room.hand_raised", "ref": message.get("ref")}))

    def on_forbidden(connection, message):
        raise Forbidden("only hosts may mute everyone")

    hub.on("room.raise_hand", on_raise_hand)
    hub.on("room.mute_all", on_forbidden)
    alice = await person(client, db)
    device = await ready_device(client, alice)

    await device.send({"type": "room.raise_hand", "room_id": 4, "ref": "a1"})
    assert await device.next_frame() == {"type": "room.hand_raised", "ref": "a1"}
    assert received == [(alice.id, {"type": "room.raise_hand", "room_id": 4, "ref": "a1"})]
    await device.send({"type": "room.mute_all", "ref": "a2"})
    assert await device.next_frame() == {
        "type": "error",
        "error": {"code": "forbidden", "message": "only hosts may mute everyone"},
        "ref": "a2",
    }


async def test_a_frame_type_has_one_handler_and_protocol_types_are_reserved(app):
    hub = app[HUB]
    hub.on("room.join", lambda c, m: None)
    with pytest.raises(ValueError):
        hub.on("room.join", lambda c, m: None)
    with pytest.raises(ValueError):
        hub.on("ping", lambda c, m: None)


async def test_connect_and_disconnect_hooks_see_each_socket(client, db, app):
    hub = app[HUB]
    seen = []

    async def connected(connection):
        seen.append(("up", connection.user_id))

    hub.on_connect(connected)
    hub.on_disconnect(lambda connection: seen.append(("down", connection.user_id)))
    alice = await person(client, db)
    device = await ready_device(client, alice)
    await device.send({"type": "ping"})
    await device.next_frame()
    assert seen == [("up", alice.id)]
    await device.close()
    await wait_until(lambda: len(seen) == 2)
    assert seen == [("up", alice.id), ("down", alice.id)]
    assert not hub.local_connections(alice.id)


class _Cycle:
    """Garbage only a collection frees: it refers to itself."""

    def __init__(self) -> None:
        self.me = self


async def test_the_heartbeat_freezes_long_lived_objects_out_of_full_collections_and_thaws_them_once_sockets_close(client, db, app, monkeypatch):
    monkeypatch.setattr("server.gateway.hub._FREEZE_EVERY", 2)
    app[SETTINGS].ws_heartbeat_s = 0.2
    people = [await person(client, db) for _ in range(3)]
    gc.disable()  # only the hub collects during this test
    gc.unfreeze()
    try:
        garbage = weakref.ref(_Cycle())  # before the sockets open, so the freeze they cause cannot come before it
        devices = [await ready_device(client, p) for p in people]
        await wait_until(lambda: gc.get_freeze_count() > 0)
        gc.collect()
        assert garbage() is not None, "a full collection still walked what the hub froze"
        for device in devices:
            await device.close()
        await wait_until(lambda: not app[HUB].local_user_ids())
        await wait_until(lambda: garbage() is None)  # thawed and collected once most frozen sockets closed
    finally:
        gc.unfreeze()
        gc.enable()
