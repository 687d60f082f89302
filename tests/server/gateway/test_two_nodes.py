"""Two real ``muster serve`` processes on one PostgreSQL and one Redis: an event made on node A
reaches a device connected to node B, and signing a device out on A closes its socket on B."""
from __future__ import annotations

import aiohttp
import pytest

from server.db import Database
from server.gateway.frames import CLOSE_UNAUTHENTICATED
from tests import services
from tests.factories import make_user
from tests.server.gateway.sockets import connect, sign_in

@pytest.fixture
def cluster(tmp_path):
    """``(database_url, [url of node A, url of node B])``; the nodes are killed and the database dropped after."""
    with services.muster_nodes(tmp_path, ["a", "b"]) as nodes:
        yield nodes.database_url, nodes.urls


async def test_signing_out_a_device_on_node_a_reaches_sockets_on_node_b(cluster):
    database_url, (node_a, node_b) = cluster
    db = Database(database_url)
    try:
        alice = await make_user(db)
    finally:
        await db.close()

    async with aiohttp.ClientSession() as http:
        phone_token, _ = await sign_in(http, node_a, alice.email, "phone")
        laptop_token, laptop_session = await sign_in(http, node_a, alice.email, "laptop")
        phone = await connect(http, f"{node_b}/api/v1/ws", phone_token)
        laptop = await connect(http, f"{node_b}/api/v1/ws", laptop_token)
        await phone.until_ready()
        await laptop.until_ready()

        resp = await http.delete(f"{node_a}/api/v1/me/devices/{laptop_session}", headers={"Authorization": f"Bearer {phone_token}"})
        assert resp.status == 204, await resp.text()

        (heard,) = await phone.events(1)
        assert heard["event"] == "session.revoked" and heard["data"]["session_ids"] == [laptop_session]
        (laptop_heard,) = await laptop.events(1)
        assert laptop_heard["seq"] == heard["seq"]
        assert await laptop.closed_with() == CLOSE_UNAUTHENTICATED
        await phone.send({"type": "ping"})
        assert await phone.next_frame() == {"type": "pong"}

        # The phone reconnects to node A and resumes after what it saw on node B: nothing new, nothing twice.
        await phone.close()
        phone = await connect(http, f"{node_a}/api/v1/ws", phone_token, user_seq=heard["seq"])
        replayed, ready = await phone.until_ready()
        assert replayed == [] and ready["user_seq"] == heard["seq"]
        await phone.close()
