"""Two real ``muster serve`` nodes on one PostgreSQL and one Redis: someone removed on node A gets no
more group messages on node B, over the socket they had there or a new one, within a second."""
from __future__ import annotations

import asyncio

import aiohttp
from sqlalchemy import select

from server.db import Database
from server.orgs.models import Membership
from tests.factories import make_org
from tests.server.gateway.sockets import connect
from tests.server.gateway.test_two_nodes import cluster  # noqa: F401  (the fixture: two nodes, fresh database, Redis)
from tests.server.groups.conftest import join_org, signed_in
from tests.server.groups.test_two_nodes import next_group_frame


async def _group_frames_before_pong(device) -> list[dict]:
    await device.send({"type": "ping"})
    heard = []
    while (frame := await device.next_frame(timeout=10)) != {"type": "pong"}:
        heard.append(frame)
    return [f for f in heard if f["type"].startswith("group.")]


async def test_a_member_removed_on_one_node_gets_nothing_more_on_the_other(cluster):  # noqa: F811
    database_url, (node_a, node_b) = cluster
    db = Database(database_url)
    try:
        owner = await signed_in(db, "Owner")
        org = await make_org(db, owner.user)
        leaver, stayer = await signed_in(db, "Leaver"), await signed_in(db, "Stayer")
        for p in (leaver, stayer):
            await join_org(db, org.id, p.user)
        async with db.transaction(org_id=org.id) as tx:
            member_id = await tx.session.scalar(select(Membership.id).where(Membership.user_id == leaver.id))
    finally:
        await db.close()

    async with aiohttp.ClientSession() as http:
        api = f"{node_a}/api/v1/orgs/{org.id}"
        resp = await http.post(f"{api}/groups", json={"name": "Ward", "member_ids": [leaver.id, stayer.id]}, headers=owner.headers)
        assert resp.status == 201, await resp.text()
        messages = f"{api}/groups/{(await resp.json())['id']}/messages"
        old_socket = await connect(http, f"{node_b}/api/v1/ws", leaver.headers["Authorization"][7:])
        witness = await connect(http, f"{node_b}/api/v1/ws", stayer.headers["Authorization"][7:])
        for device in (old_socket, witness):
            await device.until_ready()
        assert (await http.post(messages, json={"body": "before"}, headers=owner.headers)).status == 201
        for device in (old_socket, witness):  # node B has the group's members cached now
            assert (await next_group_frame(device))["message"]["body"] == "before"

        started = asyncio.get_running_loop().time()
        assert (await http.delete(f"{api}/members/{member_id}", headers=owner.headers)).status == 204
        assert (await http.post(messages, json={"body": "after"}, headers=owner.headers)).status == 201
        assert (await next_group_frame(witness))["message"]["body"] == "after"
        assert await _group_frames_before_pong(old_socket) == []
        assert asyncio.get_running_loop().time() - started < 1.0

        new_socket = await connect(http, f"{node_b}/api/v1/ws", leaver.headers["Authorization"][7:])
        await new_socket.until_ready()
        assert (await http.post(messages, json={"body": "later"}, headers=owner.headers)).status == 201
        assert (await next_group_frame(witness))["message"]["body"] == "later"
        assert await _group_frames_before_pong(new_socket) == []
        assert (await http.get(f"{node_b}/api/v1/orgs/{org.id}/groups", headers=leaver.headers)).status == 404
