"""Signing a device out closes that device's socket, on hearing why, and no other."""
from __future__ import annotations

from server.gateway.frames import CLOSE_UNAUTHENTICATED
from tests.factories import make_user, sign_in
from tests.server.gateway.sockets import connect, token_of


async def test_revoking_a_device_closes_its_socket_only(client, db, backend):
    alice = await make_user(db)
    phone_headers = await sign_in(client, alice.email, device_name="phone")
    laptop_headers = await sign_in(client, alice.email, device_name="laptop")
    url = str(client.make_url("/api/v1/ws"))
    phone = await connect(client.session, url, token_of(phone_headers))
    laptop = await connect(client.session, url, token_of(laptop_headers))
    await phone.until_ready()
    await laptop.until_ready()
    devices = await (await client.get("/api/v1/me/devices", headers=phone_headers)).json()
    laptop_session = next(d["id"] for d in devices if d["device_name"] == "laptop")

    resp = await client.delete(f"/api/v1/me/devices/{laptop_session}", headers=phone_headers)
    assert resp.status == 204

    (heard_by_laptop,) = await laptop.events(1)
    assert heard_by_laptop["event"] == "session.revoked"
    assert heard_by_laptop["data"]["session_ids"] == [laptop_session]
    assert await laptop.closed_with() == CLOSE_UNAUTHENTICATED
    (heard_by_phone,) = await phone.events(1)
    assert heard_by_phone["seq"] == heard_by_laptop["seq"]
    await phone.send({"type": "ping"})
    assert await phone.next_frame() == {"type": "pong"}


async def test_a_revoked_session_cannot_say_hello_again(client, db):
    alice = await make_user(db)
    phone_headers = await sign_in(client, alice.email)
    laptop_headers = await sign_in(client, alice.email)
    devices = await (await client.get("/api/v1/me/devices", headers=phone_headers)).json()
    laptop_session = next(d["id"] for d in devices if not d["current"])
    assert (await client.delete(f"/api/v1/me/devices/{laptop_session}", headers=phone_headers)).status == 204
    laptop = await connect(client.session, str(client.make_url("/api/v1/ws")), token_of(laptop_headers))
    assert await laptop.closed_with() == CLOSE_UNAUTHENTICATED
