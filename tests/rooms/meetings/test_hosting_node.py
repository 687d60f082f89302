"""A live meeting belongs to one node: two real ``muster serve`` processes on one PostgreSQL and Redis.

While its node lives (and renews its lease), a join through the other node is
refused with ``wrong_node``; once that node is killed and its lease runs out,
the meeting moves to the node people join through, instead of staying
unreachable until someone ends it.
"""
from __future__ import annotations

import asyncio

import aiohttp
import pytest

from server.db import Database
from tests import services
from tests.factories import make_org, make_user
from tests.server.gateway.sockets import Device, connect, sign_in

LEASE_S = 1.5


@pytest.fixture
def nodes(tmp_path):
    with services.muster_nodes(tmp_path, ["a", "b"], {"MUSTER_ROOMS_HOSTING_LEASE_S": str(LEASE_S)}) as nodes:
        yield nodes


async def host_and_meeting(http: aiohttp.ClientSession, nodes, base: str, devices: int) -> tuple[list[str], dict]:
    """A host signed in on ``devices`` devices through ``base``, and their new meeting."""
    db = Database(nodes.database_url)
    try:
        host = await make_user(db, "Hana Host")
        org = await make_org(db, host)
    finally:
        await db.close()
    tokens = [(await sign_in(http, base, host.email, f"device {n}"))[0] for n in range(devices)]
    resp = await http.post(f"{base}/api/v1/orgs/{org.id}/meetings", json={"title": "Ward round"}, headers={"Authorization": f"Bearer {tokens[0]}"})
    assert resp.status == 201, await resp.text()
    return tokens, await resp.json()


async def join_over_socket(http: aiohttp.ClientSession, node: str, token: str, meeting: dict, *, name_meeting: bool = True) -> tuple[Device, dict]:
    """A new device socket on ``node`` asks to join: the socket and the server's answer to ``meeting.join``.

    The socket names its meeting in the URL, as the meeting page does, unless ``name_meeting`` is false.
    """
    resp = await http.post(f"{node}/api/v1/meetings/join", json={"link_token": meeting["join_url"].rsplit("/m/", 1)[1]},
                           headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200, await resp.text()
    ticket = (await resp.json())["ticket"]
    url = f"{node}/api/v1/ws" + (f"?meeting={meeting['id']}" if name_meeting else "")
    device = await connect(http, url, token, user_seq=2**62)
    await device.until_ready()
    await device.send({"type": "meeting.join", "ticket": ticket})
    while True:
        frame = await device.next_frame(10)
        if frame["type"] in ("meeting.joined", "error"):
            return device, frame


async def test_a_meeting_stays_on_its_living_node_and_moves_when_that_node_dies(nodes):
    node_a, node_b = nodes.urls
    async with aiohttp.ClientSession() as http:
        (laptop, phone), meeting = await host_and_meeting(http, nodes, node_a, 2)

        seat_on_a, answer = await join_over_socket(http, node_a, laptop, meeting)
        assert answer["type"] == "meeting.joined"

        await asyncio.sleep(2 * LEASE_S)  # node A keeps renewing: the meeting is still its own
        _, refused = await join_over_socket(http, node_b, phone, meeting)
        assert refused["error"]["code"] == "wrong_node" and "node-a" in refused["error"]["message"]
        assert not seat_on_a.ws.closed  # the host's seat on A is what keeps the meeting there

        nodes.processes[0].kill()
        nodes.processes[0].wait()
        await asyncio.sleep(LEASE_S + 0.5)
        _, moved = await join_over_socket(http, node_b, phone, meeting)
        assert moved["type"] == "meeting.joined", moved
        assert [p["name"] for p in moved["participants"]] == ["Hana Host"]  # only the new seat: A's died with it


@pytest.fixture
def nginx(nodes, tmp_path):
    with services.nginx_in_front(tmp_path, nodes.urls) as url:
        yield url


async def test_through_nginx_every_socket_of_a_meeting_reaches_the_node_that_hosts_it(nodes, nginx):
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as http:
        tokens, meeting = await host_and_meeting(http, nodes, nginx, 6)
        named = [await join_over_socket(http, nginx, token, meeting) for token in tokens[:4]]
        assert [answer["type"] for _, answer in named] == ["meeting.joined"] * 4, named
        # A socket that does not name its meeting is balanced over both nodes, and may land on the wrong one.
        unnamed = [await join_over_socket(http, nginx, token, meeting, name_meeting=False) for token in tokens[4:]]
        assert any(answer["type"] == "error" and answer["error"]["code"] == "wrong_node" for _, answer in unnamed), unnamed
