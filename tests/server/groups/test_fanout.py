"""Fan-out: one bus message per group message; every connected member's devices get the same frame, others nothing."""
from __future__ import annotations

from server.groups.fanout import FANOUT
from tests.server.gateway.sockets import connect, token_of
from tests.server.groups.conftest import create_group, post


async def _live(client, person):
    device = await connect(client.session, str(client.make_url("/api/v1/ws")), token_of(person.headers))
    await device.until_ready()
    return device


async def _next_group_frame(device) -> dict:
    while True:
        frame = await device.next_frame()
        if frame["type"].startswith("group."):
            return frame


async def test_members_devices_receive_each_message_once_in_order_and_outsiders_nothing(client, app, org):
    group = await create_group(client, org, member_ids=[org.people[0].id, org.people[1].id])
    devices = [await _live(client, p) for p in (org.people[0], org.people[0], org.people[1])]
    outsider = await _live(client, org.people[2])
    for n in range(3):
        await post(client, org, group["id"], org.owner, f"m{n}")
    for device in devices:
        frames = [await _next_group_frame(device) for _ in range(3)]
        assert [(f["type"], f["message"]["seq"], f["message"]["body"]) for f in frames] == [
            ("group.message", 1, "m0"), ("group.message", 2, "m1"), ("group.message", 3, "m2")
        ]
    await outsider.send({"type": "ping"})
    assert await outsider.next_frame() == {"type": "pong"}  # nothing of the group came before the pong
    assert app[FANOUT].delivered == 9


async def test_a_member_added_later_receives_and_a_removed_one_stops(client, org):
    group = await create_group(client, org, member_ids=[org.people[0].id])
    newcomer = await _live(client, org.people[1])
    leaver = await _live(client, org.people[0])
    await post(client, org, group["id"], org.owner, "before")  # fills this node's member cache
    assert (await _next_group_frame(leaver))["message"]["body"] == "before"
    members = org.url(f"/groups/{group['id']}/members")
    await client.post(members, json={"user_ids": [org.people[1].id]}, headers=org.owner.headers)
    await client.post(members + "/remove", json={"user_ids": [org.people[0].id]}, headers=org.owner.headers)
    await post(client, org, group["id"], org.owner, "after")
    assert (await _next_group_frame(newcomer))["message"]["body"] == "after"
    await leaver.send({"type": "ping"})
    frame = await leaver.next_frame()
    while frame["type"] == "event":  # group.removed arrives as a personal event
        assert frame["event"] == "group.removed"
        frame = await leaver.next_frame()
    assert frame == {"type": "pong"}


async def test_edits_recalls_and_reactions_reach_members_live(client, org):
    group = await create_group(client, org, member_ids=[org.people[0].id])
    device = await _live(client, org.people[0])
    msg = await (await post(client, org, group["id"], org.owner, "typo")).json()
    url = org.url(f"/groups/{group['id']}/messages/{msg['seq']}")
    await client.patch(url, json={"body": "fixed"}, headers=org.owner.headers)
    await client.put(url + "/reactions", json={"emoji": "👍"}, headers=org.people[0].headers)
    await client.post(url + "/recall", headers=org.owner.headers)
    frames = [await _next_group_frame(device) for _ in range(4)]
    assert [f["type"] for f in frames] == ["group.message"] + ["group.message_updated"] * 3
    assert frames[1]["message"]["body"] == "fixed" and frames[2]["message"]["reactions"][0]["count"] == 1
    assert frames[3]["message"]["recalled_at"] is not None and frames[3]["message"]["body"] == ""
