"""Redis killed and started again while messages are posted, two real nodes on a private Redis and PostgreSQL.

Devices on both nodes follow a group the way a client does: ``group.message`` frames live, and after a
``groups.resync`` frame the messages changed since the last change number they saw
(``GET .../messages?changed_after=``). Each post mentions the devices' people, so it also puts one
``group.mentions`` event in each of their per-user streams. Pub/sub loses what is published while Redis is
down; the nodes reconnect by themselves, and every device ends with every message once, in order, and with
every event of its stream once, in order, with no gap. Messages posted after the reconnect arrive live.

A node cut off from Redis alone loses what it publishes meanwhile while the other nodes stay subscribed and
notice nothing; once it is back it tells them (``bus-resync``) and their devices catch up as well.
"""
from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from tests import services
from tests.faults.private import Link
from tests.server.gateway.sockets import Device, connect, token_of
from tests.server.groups.conftest import owner_and_members

BEFORE, DURING, AFTER = 5, 5, 5


class GroupFollower:
    """One device: reads every frame its node sends, catches up on ``groups.resync`` as a client does."""

    def __init__(self, name: str, http: aiohttp.ClientSession, node: str, headers: dict, group_id: int, org_id: int) -> None:
        self.name, self.http, self.node, self.headers = name, http, node, headers
        self.messages_url = f"{node}/api/v1/orgs/{org_id}/groups/{group_id}/messages"
        self.group_id = group_id
        self.live: list[int] = []  # seqs of group.message frames, as they came
        self.timeline: dict[int, str] = {}  # seq -> body: what the device shows
        self.last_change_seq = 0
        self.events: list[dict] = []  # the per-user stream's event frames, as they came
        self.resynced_at: list[float] = []
        self.device: Device | None = None
        self.task: asyncio.Task | None = None

    async def open(self) -> None:
        self.device = await connect(self.http, f"{self.node}/api/v1/ws", token_of(self.headers))
        replayed, _ready = await self.device.until_ready()
        self.events.extend(replayed)
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            frame = await self.device.next_frame(timeout=120)
            if frame["type"] == "event":
                self.events.append(frame)
            elif frame["type"] == "group.message":
                message = frame["message"]
                self.live.append(message["seq"])
                self._show(message)
            elif frame["type"] == "groups.resync":
                self.resynced_at.append(time.monotonic())
                (group,) = [g for g in frame["groups"] if g["group_id"] == self.group_id]
                if group["last_change_seq"] > self.last_change_seq:
                    await self._catch_up()

    async def _catch_up(self) -> None:
        while True:
            resp = await self.http.get(self.messages_url, params={"changed_after": self.last_change_seq, "limit": 200}, headers=self.headers)
            assert resp.status == 200, await resp.text()
            page = await resp.json()
            for message in page["messages"]:
                self._show(message)
            if not page["has_more"]:
                return

    def mentions(self) -> int:
        return sum(e["event"] == "group.mentions" for e in self.events)

    def _show(self, message: dict) -> None:
        self.timeline[message["seq"]] = message["body"]
        self.last_change_seq = max(self.last_change_seq, message["change_seq"])

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        if self.device is not None:
            await self.device.close()


async def _until(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not in {timeout_s:g} s"
        await asyncio.sleep(0.05)


async def test_redis_restarted_while_posting_devices_on_both_nodes_end_with_every_message_once_in_order(private_redis, private_nodes):
    nodes = private_nodes
    node_a, node_b = nodes.urls
    org_id, owner, (alice, bob) = await owner_and_members(nodes.database_url, "Alice", "Bob")

    async with aiohttp.ClientSession() as http:
        resp = await http.post(f"{node_a}/api/v1/orgs/{org_id}/groups", json={"name": "Ward", "member_ids": [alice.id, bob.id]},
                               headers=owner.headers)
        assert resp.status == 201, await resp.text()
        group_id = (await resp.json())["id"]
        followers = [GroupFollower(name, http, node, who.headers, group_id, org_id)
                     for name, node, who in (("alice on a", node_a, alice), ("alice on b", node_b, alice), ("bob on b", node_b, bob))]
        posted: list[str] = []

        async def post(n: int) -> None:
            body = f"message {n}"
            node = (node_a, node_b)[n % 2]
            resp = await http.post(f"{node}/api/v1/orgs/{org_id}/groups/{group_id}/messages",
                                   json={"body": body, "mentions": [alice.id, bob.id]}, headers=owner.headers)
            assert resp.status == 201, await resp.text()
            assert (await resp.json())["seq"] == n
            posted.append(body)

        try:
            for follower in followers:
                await follower.open()
            for n in range(1, BEFORE + 1):
                await post(n)
            await _until(lambda: all(len(f.live) == BEFORE for f in followers), 30, "messages before the outage")

            private_redis.kill()
            for n in range(BEFORE + 1, BEFORE + DURING + 1):
                await post(n)
            await asyncio.to_thread(private_redis.start)
            restarted_at = time.monotonic()

            # Each node hears the bus again by itself, and tells its devices to catch up.
            await _until(lambda: all(f.resynced_at for f in followers), 30, "groups.resync after the restart")
            resynced = max(f.resynced_at[0] for f in followers) - restarted_at
            for n in range(BEFORE + DURING + 1, BEFORE + DURING + AFTER + 1):
                await post(n)
            total = BEFORE + DURING + AFTER
            await _until(lambda: all(len(f.timeline) == total and f.mentions() == total for f in followers), 30, "every message")
            await asyncio.sleep(0.5)  # anything sent twice would have come by now
        finally:
            for follower in followers:
                await follower.close()

    for follower in followers:
        assert [follower.timeline[seq] for seq in sorted(follower.timeline)] == posted, follower.name
        assert sorted(follower.timeline) == list(range(1, total + 1)), follower.name
        assert follower.live == sorted(set(follower.live)), f"{follower.name}: live frames twice or out of order: {follower.live}"
        # Messages posted once the node was back on the bus came live.
        assert set(range(BEFORE + DURING + 1, total + 1)) <= set(follower.live), follower.name
        seqs = [e["seq"] for e in follower.events]
        assert seqs == list(range(1, len(seqs) + 1)), f"{follower.name}: stream {seqs}"
        mentions = [e["data"]["unread_mentions"] for e in follower.events if e["event"] == "group.mentions"]
        assert mentions == list(range(1, total + 1)), f"{follower.name}: {mentions}"
    print(f"\nredis restart: every node told its devices to catch up {resynced:.2f} s after Redis accepted connections again")


@pytest.fixture
def node_a_behind_a_link(tmp_path, private_postgres, private_redis):
    """Nodes "a" and "b"; "a" reaches Redis through a ``Link`` the test can cut."""
    link = Link(private_redis.port)
    link.mend()
    try:
        with services.muster_nodes(tmp_path, ["a", "b"], postgres_admin_url=private_postgres.admin_url, redis_url=private_redis.url,
                                   node_env={"a": {"MUSTER_REDIS_URL": f"redis://127.0.0.1:{link.port}/0"}}) as nodes:
            yield nodes, link
    finally:
        link.close()


async def test_a_node_cut_off_from_redis_alone_has_the_other_nodes_devices_catch_up_once_it_is_back(node_a_behind_a_link):
    nodes, link = node_a_behind_a_link
    node_a, node_b = nodes.urls
    org_id, owner, (bob,) = await owner_and_members(nodes.database_url, "Bob")

    async with aiohttp.ClientSession() as http:
        resp = await http.post(f"{node_b}/api/v1/orgs/{org_id}/groups", json={"name": "Ward", "member_ids": [bob.id]}, headers=owner.headers)
        assert resp.status == 201, await resp.text()
        group_id = (await resp.json())["id"]
        bob_on_b = GroupFollower("bob on b", http, node_b, bob.headers, group_id, org_id)
        posted: list[str] = []

        async def post_on_a(n: int) -> None:
            resp = await http.post(f"{node_a}/api/v1/orgs/{org_id}/groups/{group_id}/messages",
                                   json={"body": f"message {n}", "mentions": [bob.id]}, headers=owner.headers)
            assert resp.status == 201, await resp.text()
            posted.append(f"message {n}")

        try:
            await bob_on_b.open()
            await post_on_a(1)
            await _until(lambda: bob_on_b.live == [1], 30, "the first message")
            link.cut()
            for n in (2, 3):
                await post_on_a(n)  # stored; its bus message lost, and node b never lost Redis
            await asyncio.sleep(0.5)
            assert bob_on_b.live == [1] and not bob_on_b.resynced_at
            link.mend()
            mended_at = time.monotonic()
            # Nothing more is posted: node a says it lost messages, and bob's device catches up from that alone.
            await _until(lambda: len(bob_on_b.timeline) == 3 and bob_on_b.mentions() == 3, 30, "the messages posted while cut off")
            caught_up = time.monotonic() - mended_at
        finally:
            await bob_on_b.close()

    assert [bob_on_b.timeline[seq] for seq in sorted(bob_on_b.timeline)] == posted
    seqs = [e["seq"] for e in bob_on_b.events]
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    print(f"\nredis link cut: the other node's device caught up {caught_up:.2f} s after the link was mended")
