"""Two real ``muster serve`` nodes on one PostgreSQL and Redis: whichever node's worker handles a group, it asks the other
node who is connected there (server/gateway/presence.py), so a member whose only device is on the other node gets no push."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests import services
from tests.notify.fake_push import FakePushService, vapid_keys
from tests.server.gateway.sockets import connect
from tests.server.groups.conftest import owner_and_members


@pytest.fixture
def vapid() -> tuple[str, str]:
    return vapid_keys()


@pytest.fixture
def nodes(tmp_path, vapid):
    """Two nodes that push (to http on 127.0.0.1, as a lab allows) with a one-second batching window."""
    private, public = vapid
    env = {"MUSTER_NOTIFY_VAPID_PRIVATE_KEY": private, "MUSTER_NOTIFY_VAPID_PUBLIC_KEY": public, "MUSTER_NOTIFY_PUSH_ALLOW_PRIVATE": "true",
           "MUSTER_GROUP_PUSH_BATCH_S": "1"}
    with services.muster_nodes(tmp_path, ["a", "b"], env) as running:
        yield running.database_url, running.urls


@pytest.fixture
async def push_service(vapid):
    service = FakePushService(vapid[1])
    await service.start()
    yield service
    await service.stop()


async def test_a_member_connected_to_the_other_node_is_not_pushed_and_one_with_no_device_is(nodes, push_service):
    service, (database_url, (node_a, node_b)) = push_service, nodes
    org_id, owner, (bob, carol) = await owner_and_members(database_url, "Bob", "Carol")

    async with aiohttp.ClientSession() as http:
        browsers = {}
        for who in (bob, carol):
            browsers[who.id] = service.subscribe()
            resp = await http.post(f"{node_a}/api/v1/push-subscriptions", json=browsers[who.id].as_browser_gives_it(), headers=who.headers)
            assert resp.status == 204, await resp.text()
        resp = await http.post(f"{node_a}/api/v1/orgs/{org_id}/groups", json={"name": "Ward", "member_ids": [bob.id, carol.id]},
                               headers=owner.headers)
        group_id = (await resp.json())["id"]
        on_b = await connect(http, f"{node_b}/api/v1/ws", bob.headers["Authorization"][7:])
        await on_b.until_ready()

        for n in range(3):
            resp = await http.post(f"{node_a}/api/v1/orgs/{org_id}/groups/{group_id}/messages", json={"body": f"round {n}"},
                                   headers=owner.headers)
            assert resp.status == 201, await resp.text()
            deadline = asyncio.get_running_loop().time() + 15
            while len(browsers[carol.id].messages) < n + 1:
                assert asyncio.get_running_loop().time() < deadline, "carol was not pushed"
                await asyncio.sleep(0.1)
        assert [m["payload"]["body"] for m in browsers[carol.id].messages] == ["1 new message"] * 3
        assert browsers[bob.id].messages == []
        await on_b.close()
