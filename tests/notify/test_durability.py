"""Durable escalation on PostgreSQL: two nodes never perform a step twice; a node killed mid-escalation loses nothing."""
from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter

import aiohttp
import pytest
from sqlalchemy import func, select

from notify.escalation import do_perform_due_steps
from notify.models import EscalationStep, OutboundMessage
from notify.outbound import claim_paced
from server.db import Database
from server.db.migrate import upgrade_async
from tests import services
from tests.notify.conftest import free_port
from tests.notify.people import make_crowd

SOON = {"sms_after_s": 0, "call_after_s": 0, "repeats": 2, "repeat_interval_s": 1}


async def send_as(http: aiohttp.ClientSession, base: str, org_id: int, token: str, user_ids: list[int], policy: dict) -> dict:
    async with http.post(f"{base}/api/v1/orgs/{org_id}/broadcasts", headers={"Authorization": f"Bearer {token}"},
                         json={"title": "Fire drill", "body": "Go to the assembly point.", "recipients": {"user_ids": user_ids}, "policy": policy}) as resp:
        assert resp.status == 201, await resp.text()
        return await resp.json()


async def pending_steps(db: Database) -> int:
    async with db.transaction() as tx:
        return await tx.session.scalar(select(func.count()).select_from(EscalationStep).where(EscalationStep.done_at.is_(None)))


@pytest.fixture
def no_engine(monkeypatch):
    """The app under test runs no workers: the test plays the nodes."""
    monkeypatch.setenv("MUSTER_NOTIFY_ENGINE", "false")


async def queued_broadcast(client, db, count: int, policy: dict, tag: str) -> None:
    org_id, _, token, members = await make_crowd(db, count, phones=True, tag=tag)
    await send_as(client.session, str(client.make_url("")).rstrip("/"), org_id, token, [m for m, _ in members], policy)


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_two_nodes_claiming_the_same_due_steps_perform_each_exactly_once(no_engine, client, db, settings):
    await queued_broadcast(client, db, 150, SOON, "two")
    other = Database(settings.database_url)
    done_by = Counter()

    async def node(name: str, database: Database) -> None:
        while await pending_steps(database):
            done = await do_perform_due_steps(database, node=name, limit=40)
            done_by[name] += sum(done.values())
            await asyncio.sleep(0 if done else 0.05)

    try:
        await asyncio.gather(node("node-a", db), node("node-b", other), node("node-a", db), node("node-b", other))
    finally:
        await other.close()
    async with db.transaction() as tx:
        steps = (await tx.session.execute(select(EscalationStep.recipient_id, EscalationStep.step_no, EscalationStep.claimed_by))).all()
        messages = await tx.session.scalar(select(func.count()).select_from(OutboundMessage))
    assert len(steps) == 150 * 6 == messages == sum(done_by.values())
    assert len({(s.recipient_id, s.step_no) for s in steps}) == len(steps)
    assert done_by["node-a"] > 0 and done_by["node-b"] > 0  # both took part
    assert Counter(s.claimed_by for s in steps) == done_by


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_two_nodes_share_one_provider_rate(no_engine, client, db, settings):
    await queued_broadcast(client, db, 30, {"sms_after_s": 0, "call_after_s": None, "repeats": 0, "repeat_interval_s": 1}, "rate")
    await do_perform_due_steps(db, node="a", limit=100)
    other = Database(settings.database_url)
    try:
        claims = await asyncio.gather(*(
            claim_paced(database, channel="sms", rate_per_s=10, node=name, lease_s=60, horizon_s=1.0)
            for name, database in (("a", db), ("b", other), ("a", db), ("b", other))
        ))
    finally:
        await other.close()
    slots = sorted(m.slot_at for claimed, _ in claims for m in claimed)
    assert len(slots) == 10  # one second's worth at 10/s, however many nodes ask
    gaps = [(b - a).total_seconds() for a, b in zip(slots, slots[1:])]
    assert min(gaps) == pytest.approx(0.1, abs=1e-3)
    assert len({m.id for claimed, _ in claims for m in claimed}) == 10


async def test_a_node_killed_mid_escalation_loses_nothing_and_repeats_nothing(fake_provider, tmp_path):
    """SIGKILL the server halfway through an escalation; after a restart every due step happens exactly once."""
    services.require_postgres()
    url = await asyncio.to_thread(services.create_postgres_database)
    db = Database(url)
    server = None
    try:
        await upgrade_async(url)
        org_id, _, token, members = await make_crowd(db, 20, phones=True, tag="kill")
        port = free_port()
        env = {
            **os.environ, "MUSTER_DATABASE_URL": url, "MUSTER_DATA_DIR": str(tmp_path), "MUSTER_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "MUSTER_NOTIFY_PROVIDER": "twilio", "MUSTER_NOTIFY_TWILIO_BASE_URL": fake_provider.url,
            "MUSTER_NOTIFY_TWILIO_ACCOUNT_SID": fake_provider.account_sid, "MUSTER_NOTIFY_TWILIO_AUTH_TOKEN": fake_provider.auth_token,
            "MUSTER_NOTIFY_FROM_NUMBER": "+441632960000", "MUSTER_NOTIFY_SMS_PER_S": "100", "MUSTER_NOTIFY_CALLS_PER_S": "100",
            "MUSTER_NOTIFY_CLAIM_LEASE_S": "2", "MUSTER_NOTIFY_ENGINE_IDLE_S": "0.1", "MUSTER_LOG_LEVEL": "WARNING",
        }
        server = await services.start_muster_server(env, port)
        policy = {"sms_after_s": 1, "call_after_s": 2, "repeats": 3, "repeat_interval_s": 2}  # steps at 1..8 s
        async with aiohttp.ClientSession() as http:
            await send_as(http, f"http://127.0.0.1:{port}", org_id, token, [m for m, _ in members], policy)
        await asyncio.sleep(4.0)
        server.send_signal(signal.SIGKILL)
        await server.wait()
        before_restart = len(fake_provider.sent)
        assert 0 < before_restart < 20 * 8, "the kill should fall in the middle of the escalation"

        server = await services.start_muster_server(env, port)
        for _ in range(300):
            async with db.transaction() as tx:
                unfinished = await tx.session.scalar(select(func.count()).select_from(EscalationStep).where(EscalationStep.done_at.is_(None)))
                unsent = await tx.session.scalar(select(func.count()).select_from(OutboundMessage).where(OutboundMessage.status != "sent"))
            if unfinished == 0 and unsent == 0:
                break
            await asyncio.sleep(0.2)
        assert unfinished == 0 and unsent == 0
    finally:
        if server is not None and server.returncode is None:
            server.send_signal(signal.SIGKILL)
            await server.wait()
        await db.close()
        await asyncio.to_thread(services.drop_postgres_database, url)
    per_number = Counter((s.to, s.kind) for s in fake_provider.sent.values())
    assert len(per_number) == 20 * 2
    assert set(per_number.values()) == {4}  # every recipient: 4 SMS and 4 calls, none lost, none doubled
    assert len(fake_provider.sent) == 160
