"""Guests in groups: only when the owner allows; a guest joins on first use, sees that group only."""
from __future__ import annotations

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
    for guest in (early, late):
        resp = await client.get(org.url(f"/groups/{group['id']}/messages"), headers=guest)
        assert resp.status == 403 and "does not allow guests" in (await resp.json())["error"]["message"]
    assert (await (await client.get(org.url(f"/groups/{group['id']}"), headers=org.owner.headers)).json())["member_count"] == 4
