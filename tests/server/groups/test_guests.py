"""Guests in groups: only when the owner allows; a guest joins on first use, sees that group only."""
from __future__ import annotations

from server.gateway.frames import CLOSE_UNAUTHENTICATED
from tests.server.gateway.sockets import connect, token_of
from tests.server.groups.conftest import create_group, post


async def _invite(client, org, group_id, by):
    return await client.post(org.url("/guest-invites"), json={"scope_kind": "group", "scope_id": group_id}, headers=by.headers)


async def test_a_guest_joins_a_group_whose_owner_allows_guests_and_sees_only_it(client, org):
    closed = await create_group(client, org, name="Staff only")
    assert (await _invite(client, org, closed["id"], org.owner)).status == 403
    open_group = await create_group(client, org, name="With partners", allow_guests=True)
    assert (await _invite(client, org, open_group["id"], org.people[0])).status == 403  # a plain member cannot invite
    invite = await _invite(client, org, open_group["id"], org.owner)
    assert invite.status == 201, await invite.text()
    joined = await client.post("/api/v1/guest-sessions", json={"invite_token": (await invite.json())["token"], "display_name": "Dr Visitor"})
    guest = {"Authorization": f"Bearer {(await joined.json())['token']}"}

    await post(client, org, open_group["id"], org.owner, "welcome")
    history = await (await client.get(org.url(f"/groups/{open_group['id']}/messages"), headers=guest)).json()
    sent = await client.post(org.url(f"/groups/{open_group['id']}/messages"), json={"body": "thanks"}, headers=guest)
    members = await (await client.get(org.url(f"/groups/{open_group['id']}/members"), headers=org.owner.headers)).json()
    assert [m["body"] for m in history["messages"]] == ["welcome"] and sent.status == 201
    assert "Dr Visitor" in [m["name"] for m in members["members"]]
    assert (await client.get(org.url(f"/groups/{closed['id']}/messages"), headers=guest)).status == 404
    assert [g["id"] for g in await (await client.get(org.url("/groups"), headers=guest)).json()] == [open_group["id"]]
    assert (await client.post(org.url("/groups"), json={"name": "mine"}, headers=guest)).status == 403


async def test_guests_are_removed_and_refused_once_the_owner_stops_allowing_them(client, org):
    group = await create_group(client, org, allow_guests=True)
    guests = []
    for name in ("Early", "Late"):
        token = (await (await _invite(client, org, group["id"], org.owner)).json())["token"]
        joined = await client.post("/api/v1/guest-sessions", json={"invite_token": token, "display_name": name})
        guests.append({"Authorization": f"Bearer {(await joined.json())['token']}"})
    early, late = guests
    assert (await client.get(org.url(f"/groups/{group['id']}"), headers=early)).status == 200
    assert (await (await client.get(org.url(f"/groups/{group['id']}"), headers=org.owner.headers)).json())["member_count"] == 5
    assert (await client.patch(org.url(f"/groups/{group['id']}"), json={"allow_guests": False}, headers=org.owner.headers)).status == 200
    assert (await client.get(org.url(f"/groups/{group['id']}/messages"), headers=early)).status == 401  # removed: signed out
    resp = await client.get(org.url(f"/groups/{group['id']}/messages"), headers=late)  # never came in: refused
    assert resp.status == 403 and "does not allow guests" in (await resp.json())["error"]["message"]
    assert (await (await client.get(org.url(f"/groups/{group['id']}"), headers=org.owner.headers)).json())["member_count"] == 4


async def _guest_of(client, org, group_id, name="Visitor") -> dict:
    token = (await (await _invite(client, org, group_id, org.owner)).json())["token"]
    joined = await client.post("/api/v1/guest-sessions", json={"invite_token": token, "display_name": name})
    return {"Authorization": f"Bearer {(await joined.json())['token']}"}


async def _member_names(client, org, group_id) -> list[str]:
    members = await (await client.get(org.url(f"/groups/{group_id}/members"), headers=org.owner.headers)).json()
    return [m["name"] for m in members["members"]]


async def test_a_guest_removed_from_a_group_is_signed_out_and_not_let_back_in(client, org):
    group = await create_group(client, org, allow_guests=True)
    guest = await _guest_of(client, org, group["id"])
    me = await (await client.get("/api/v1/me", headers=guest)).json()
    socket = await connect(client.session, str(client.make_url("/api/v1/ws")), token_of(guest))
    await socket.until_ready()
    assert (await client.get(org.url(f"/groups/{group['id']}"), headers=guest)).status == 200  # a guest joins on first use
    assert "Visitor" in await _member_names(client, org, group["id"])

    resp = await client.post(org.url(f"/groups/{group['id']}/members/remove"), json={"user_ids": [me["id"]]}, headers=org.owner.headers)

    assert resp.status == 200, await resp.text()
    assert await socket.closed_with() == CLOSE_UNAUTHENTICATED
    for path in (f"/groups/{group['id']}", f"/groups/{group['id']}/messages"):
        assert (await client.get(org.url(path), headers=guest)).status == 401
    sent = await client.post(org.url(f"/groups/{group['id']}/messages"), json={"body": "back again"}, headers=guest)
    assert sent.status == 401
    assert "Visitor" not in await _member_names(client, org, group["id"])


async def test_a_guest_who_leaves_a_group_is_signed_out(client, org):
    group = await create_group(client, org, allow_guests=True)
    guest = await _guest_of(client, org, group["id"])
    assert (await client.get(org.url(f"/groups/{group['id']}"), headers=guest)).status == 200
    assert (await client.post(org.url(f"/groups/{group['id']}/leave"), headers=guest)).status in (200, 204)
    assert (await client.get(org.url(f"/groups/{group['id']}"), headers=guest)).status == 401
    assert "Visitor" not in await _member_names(client, org, group["id"])


async def test_revoking_a_group_invite_takes_its_guests_out_of_the_group(client, org):
    group = await create_group(client, org, allow_guests=True)
    created = await (await _invite(client, org, group["id"], org.owner)).json()
    joined = await client.post("/api/v1/guest-sessions", json={"invite_token": created["token"], "display_name": "Visitor"})
    guest = {"Authorization": f"Bearer {(await joined.json())['token']}"}
    assert (await client.get(org.url(f"/groups/{group['id']}"), headers=guest)).status == 200

    assert (await client.delete(org.url(f"/guest-invites/{created['id']}"), headers=org.owner.headers)).status == 204

    assert (await client.get(org.url(f"/groups/{group['id']}"), headers=guest)).status == 401
    assert "Visitor" not in await _member_names(client, org, group["id"])
