"""Read pointers: unread counts, read/unread lists with counts, and reading on one device clearing the others."""
from __future__ import annotations

from tests.server.gateway.sockets import connect, token_of
from tests.server.groups.conftest import create_group, post


async def test_unread_is_last_seq_minus_the_read_pointer_and_only_moves_forward(client, org):
    group = await create_group(client, org)
    for n in range(5):
        await post(client, org, group["id"], org.owner, f"m{n}")
    reader = org.people[0]
    listing = await (await client.get(org.url("/groups"), headers=reader.headers)).json()
    assert (listing[0]["unread"], listing[0]["last_seq"], listing[0]["read_seq"]) == (5, 5, 0)
    url = org.url(f"/groups/{group['id']}/read")
    assert await (await client.post(url, json={"seq": 3}, headers=reader.headers)).json() == {"read_seq": 3, "unread": 2}
    assert await (await client.post(url, json={"seq": 1}, headers=reader.headers)).json() == {"read_seq": 3, "unread": 2}
    assert await (await client.post(url, json={"seq": 99}, headers=reader.headers)).json() == {"read_seq": 5, "unread": 0}
    owner_listing = await (await client.get(org.url("/groups"), headers=org.owner.headers)).json()
    assert owner_listing[0]["unread"] == 0  # the sender has read what they sent


async def test_read_and_not_read_lists_come_from_the_pointers_with_counts_and_pages(client, org):
    group = await create_group(client, org)
    first = await (await post(client, org, group["id"], org.owner, "notice")).json()
    await post(client, org, group["id"], org.owner, "later")
    await client.post(org.url(f"/groups/{group['id']}/read"), json={"seq": 2}, headers=org.people[1].headers)
    await client.post(org.url(f"/groups/{group['id']}/read"), json={"seq": first["seq"]}, headers=org.people[2].headers)
    url = org.url(f"/groups/{group['id']}/messages/{first['seq']}/readers")
    unread = await (await client.get(url, headers=org.owner.headers)).json()
    read_page1 = await (await client.get(url, params={"state": "read", "limit": "1"}, headers=org.owner.headers)).json()
    read_page2 = await (
        await client.get(url, params={"state": "read", "limit": "1", "after_user_id": str(read_page1["next_after_user_id"])}, headers=org.owner.headers)
    ).json()
    assert (unread["read_count"], unread["unread_count"]) == (2, 1)
    assert [m["user_id"] for m in unread["members"]] == [org.people[0].id] and unread["members"][0]["name"] == "Member 0"
    assert [m["user_id"] for m in read_page1["members"] + read_page2["members"]] == [org.people[1].id, org.people[2].id]
    assert read_page2["next_after_user_id"] is None


async def test_reading_on_one_device_tells_the_users_other_devices(client, db, org):
    group = await create_group(client, org)
    await post(client, org, group["id"], org.owner, "hi")
    reader = org.people[0]
    other_device = await connect(client.session, str(client.make_url("/api/v1/ws")), token_of(reader.headers))
    replayed, ready = await other_device.until_ready()
    assert [e["event"] for e in replayed] == ["group.added"]
    await client.post(org.url(f"/groups/{group['id']}/read"), json={"seq": 1}, headers=reader.headers)
    frame = await other_device.next_frame()
    while frame["type"] != "event":  # the live group.message frame may come first
        frame = await other_device.next_frame()
    assert frame["event"] == "group.read" and frame["data"] == {"org_id": org.id, "group_id": group["id"], "read_seq": 1, "unread_mentions": 0}
