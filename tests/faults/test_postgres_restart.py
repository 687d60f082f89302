"""PostgreSQL restarted under a load of group posts, a real node (``muster serve``) on a private cluster.

While PostgreSQL is down every post is answered 201 or 503 with ``Retry-After`` (never a 500, never a hang), a
device saying hello is told to come back (1013), and the node recovers by itself: posts succeed again once
PostgreSQL is back, with no restart of the node, and every post answered 201 is in the database, numbered
without a gap.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp
import pytest
from sqlalchemy import select

from server.db import Database
from server.gateway.frames import CLOSE_GOING_AWAY, CLOSE_INTERNAL, CLOSE_TRY_AGAIN
from server.groups.models import GroupMessage
from tests.factories import make_org
from tests.server.gateway.sockets import connect, token_of
from tests.server.groups.conftest import signed_in

POSTERS = 6
REQUEST_BOUND_S = 20.0  # longer than the longest wait the node allows itself (connect 5 s, then a pooled connection 10 s)
OUTAGE_S = 3.0
RECONNECT_CODES = (CLOSE_GOING_AWAY, CLOSE_INTERNAL, CLOSE_TRY_AGAIN)


@dataclass
class Answer:
    started: float
    finished: float
    status: int | str  # "hung" when no answer came within REQUEST_BOUND_S
    body: str
    payload: dict | None
    retry_after: str | None


async def _post_until(stop: asyncio.Event, http: aiohttp.ClientSession, url: str, headers: dict, poster: int, answers: list[Answer]) -> None:
    """One client posting one message after another; after a 503 it pauses a little (a real client waits Retry-After)."""
    n = 0
    while not stop.is_set():
        n += 1
        body = f"poster {poster} post {n}"
        started = time.monotonic()
        try:
            async with http.post(url, json={"body": body}, headers=headers, timeout=aiohttp.ClientTimeout(total=REQUEST_BOUND_S)) as resp:
                payload = await resp.json(content_type=None)
                answers.append(Answer(started, time.monotonic(), resp.status, body, payload, resp.headers.get("Retry-After")))
        except TimeoutError:
            answers.append(Answer(started, time.monotonic(), "hung", body, None, None))
        if answers[-1].status != 201:
            await asyncio.sleep(0.05)


async def _until(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not in {timeout_s:g} s"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("private_nodes", [["a"]], indirect=True)
async def test_postgresql_restarted_under_load_answers_503_meanwhile_and_loses_nothing_it_acknowledged(private_postgres, private_nodes):
    nodes = private_nodes
    (node,) = nodes.urls
    db = Database(nodes.database_url)
    try:
        owner = await signed_in(db, "Owner")
        org = await make_org(db, owner.user)
    finally:
        await db.close()

    async with aiohttp.ClientSession() as http:
        resp = await http.post(f"{node}/api/v1/orgs/{org.id}/groups", json={"name": "Ward", "member_ids": []}, headers=owner.headers)
        assert resp.status == 201, await resp.text()
        group_id = (await resp.json())["id"]
        device = await connect(http, f"{node}/api/v1/ws", token_of(owner.headers))
        await device.until_ready()

        answers: list[Answer] = []
        stop = asyncio.Event()
        url = f"{node}/api/v1/orgs/{org.id}/groups/{group_id}/messages"
        posters = [asyncio.create_task(_post_until(stop, http, url, owner.headers, n, answers)) for n in range(POSTERS)]
        try:
            await _until(lambda: sum(a.status == 201 for a in answers) >= 30, 60, "posts before the outage")
            await asyncio.to_thread(private_postgres.stop, "immediate")
            stopped_at = time.monotonic()
            await _until(lambda: sum(a.status == 503 and a.started > stopped_at for a in answers) >= 30 and time.monotonic() > stopped_at + OUTAGE_S,
                         60, "503s during the outage")

            # A device that says hello now is told to come back, rather than left waiting.
            late = await connect(http, f"{node}/api/v1/ws", token_of(owner.headers))
            assert await late.closed_with(timeout=REQUEST_BOUND_S) == CLOSE_TRY_AGAIN

            await asyncio.to_thread(private_postgres.start)
            restarted_at = time.monotonic()
            await _until(lambda: sum(a.status == 201 and a.started > restarted_at for a in answers) >= 30, 60, "posts after the restart")
        finally:
            stop.set()
            await asyncio.gather(*posters)

        # The device that was connected throughout is still there, or was closed with a code that says "reconnect".
        try:
            await device.send({"type": "ping"})
            frame = await device.next_frame()
            while frame["type"] != "pong":
                frame = await device.next_frame()
        except (AssertionError, ConnectionError):
            assert device.ws.close_code in RECONNECT_CODES, device.ws.close_code

    assert nodes.processes[0].poll() is None, "the node exited"
    unexpected = [(a.status, a.payload) for a in answers if a.status not in (201, 503)]
    assert not unexpected, unexpected
    refused = [a for a in answers if a.status == 503]
    assert all(a.retry_after and a.retry_after.isdigit() and a.payload["error"]["code"] == "unavailable" for a in refused), refused[:3]

    acknowledged = {a.body: a.payload["seq"] for a in answers if a.status == 201}
    db = Database(nodes.database_url)
    try:
        async with db.transaction(org_id=org.id) as tx:
            stored = dict((await tx.session.execute(select(GroupMessage.body, GroupMessage.seq).where(GroupMessage.group_id == group_id))).all())
    finally:
        await db.close()
    assert {body: stored.get(body) for body in acknowledged} == acknowledged
    assert sorted(stored.values()) == list(range(1, len(stored) + 1))

    first_after = min((a for a in answers if a.status == 201 and a.started > restarted_at), key=lambda a: a.finished)
    print(f"\npostgres restart: {len(answers)} posts, {len(acknowledged)} acknowledged, {len(refused)} refused with 503 "
          f"(slowest answer {max(a.finished - a.started for a in answers):.2f} s); "
          f"first post stored {first_after.finished - restarted_at:.2f} s after PostgreSQL accepted connections again")
