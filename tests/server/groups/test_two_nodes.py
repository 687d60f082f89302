"""Two real ``muster serve`` nodes on one PostgreSQL and one Redis: members connected to different
nodes all receive a group message posted on either node, once."""
from __future__ import annotations

import aiohttp

from tests.server.gateway.sockets import connect
from tests.server.gateway.test_two_nodes import cluster  # noqa: F401  (the fixture: two nodes, fresh database, Redis)
from tests.server.groups.conftest import owner_and_members


async def next_group_frame(device) -> dict:
    while True:
        frame = await device.next_frame(timeout=10)
        if frame["type"].startswith("group."):
            return frame


async def test_members_on_two_nodes_each_receive_the_message_once(cluster):  # noqa: F811
    database_url, (node_a, node_b) = cluster
    org_id, owner, (alice, bob) = await owner_and_members(database_url, "Alice", "Bob")

    async with aiohttp.ClientSession() as http:
        groups = f"{node_a}/api/v1/orgs/{org_id}/groups"
        resp = await http.post(groups, json={"name": "Two nodes", "member_ids": [alice.id, bob.id]}, headers=owner.headers)
        assert resp.status == 201, await resp.text()
        group_id = (await resp.json())["id"]
        on_a = await connect(http, f"{node_a}/api/v1/ws", alice.headers["Authorization"][7:])
        on_b = await connect(http, f"{node_b}/api/v1/ws", bob.headers["Authorization"][7:])
        await on_a.until_ready()
        await on_b.until_ready()

        for node, text in ((node_a, "from a"), (node_b, "from b")):
            resp = await http.post(f"{node}/api/v1/orgs/{org_id}/groups/{group_id}/messages", json={"body": text}, headers=owner.headers)
            assert resp.status == 201, await resp.text()
        for device in (on_a, on_b):
            frames = [await next_group_frame(device) for _ in range(2)]
            assert [(f["message"]["seq"], f["message"]["body"]) for f in frames] == [(1, "from a"), (2, "from b")]
            await device.send({"type": "ping"})
            assert await device.next_frame() == {"type": "pong"}  # and no duplicate before it
