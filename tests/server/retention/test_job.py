"""The retention job: one node at a time under a lease, every registered pruning, each in bounded batches."""
from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select, update

from aiohttp.test_utils import TestClient, TestServer

from server.accounts.models import DeviceSession
from server.app import create_app
from server.channels.models import PaidUsage
from server.db import utcnow
from server.leases import JobLease, do_take_lease
from server.retention.job import JOB, do_prune
from server.retention.registry import PRUNINGS, aged_rows
from tests.factories import person, sign_in


async def sessions_of(db, user_id: int) -> list[int]:
    async with db.transaction() as tx:
        return list(await tx.session.scalars(select(DeviceSession.id).where(DeviceSession.user_id == user_id).order_by(DeviceSession.id)))


async def test_one_node_at_a_time_runs_the_job_and_another_takes_over_a_lapsed_lease(db):
    assert await do_take_lease(db, JOB, "node-a", 60)
    assert await do_prune(db, [], node="node-b") is None  # node-a holds it
    assert await do_take_lease(db, JOB, "node-a", 60)  # a renewal
    async with db.transaction() as tx:  # node-a died: its lease runs out
        await tx.session.execute(update(JobLease).values(until=utcnow() - dt.timedelta(seconds=1)))
    assert await do_prune(db, [], node="node-b") == {}
    assert await do_take_lease(db, JOB, "node-a", 60)  # node-b released it after its pass


async def test_every_part_registers_its_growing_tables(app):
    names = {pruning.name for pruning in app[PRUNINGS]}
    assert {"per-user events", "expired device sessions", "signed-out device sessions", "expired remembered devices",
            "expired sign-in links", "account notices read", "daily counters of SMS and calls",
            "form answers past their organisation's retention", "done escalation steps"} <= names


async def test_ended_device_sessions_are_pruned_after_the_ended_days_and_live_ones_kept(client, db, app):
    alice = await person(client, db)
    for device in ("expired", "signed out", "recently signed out"):
        await sign_in(client, alice.email, device_name=device)
    live, expired, signed_out, recent = await sessions_of(db, alice.id)
    async with db.transaction() as tx:
        long_ago = utcnow() - dt.timedelta(days=31)
        await tx.session.execute(update(DeviceSession).where(DeviceSession.id == expired).values(expires_at=long_ago))
        await tx.session.execute(update(DeviceSession).where(DeviceSession.id == signed_out).values(revoked_at=long_ago))
        await tx.session.execute(update(DeviceSession).where(DeviceSession.id == recent).values(revoked_at=utcnow() - dt.timedelta(days=2)))
    deleted = await do_prune(db, app[PRUNINGS], node="test")
    assert deleted["expired device sessions"] == 1 and deleted["signed-out device sessions"] == 1
    assert await sessions_of(db, alice.id) == [live, recent]
    assert (await client.get("/api/v1/me", headers=alice.headers)).status == 200


async def test_a_pruning_deletes_in_batches_oldest_first(client, db):
    alice = await person(client, db)
    for _ in range(25):
        await sign_in(client, alice.email)
    ids = await sessions_of(db, alice.id)
    async with db.transaction() as tx:
        for age, session_id in enumerate(ids):  # the first is the oldest
            await tx.session.execute(update(DeviceSession).where(DeviceSession.id == session_id)
                                     .values(expires_at=utcnow() - dt.timedelta(days=100 - age)))
    pruning = aged_rows("sessions", DeviceSession.expires_at, dt.timedelta(days=80, hours=12), batch=7)
    batches = []
    async for gone in pruning.batches(db, utcnow()):
        batches.append(gone)
        assert await sessions_of(db, alice.id) == ids[sum(batches):]
    assert batches == [7, 7, 6]  # the 20 more than 80 days old; the last batch short, so no further look


async def test_the_counters_of_past_days_go_and_todays_and_yesterdays_stay(db, app):
    today = utcnow().date()
    async with db.transaction() as tx:
        for days in (0, 1, 2, 9):
            tx.session.add(PaidUsage(day=today - dt.timedelta(days=days), channel="sms", scope="number", key="+8613800000000", used=1))
    deleted = await do_prune(db, app[PRUNINGS], node="test")
    assert deleted["daily counters of SMS and calls"] == 2
    async with db.transaction() as tx:
        assert sorted(await tx.session.scalars(select(PaidUsage.day))) == [today - dt.timedelta(days=1), today]
        assert await tx.session.scalar(select(func.count()).select_from(JobLease)) == 0  # released


async def test_a_running_node_prunes_on_its_schedule(client, db, settings):
    alice = await person(client, db)
    await sign_in(client, alice.email, device_name="old phone")
    live, old = await sessions_of(db, alice.id)
    async with db.transaction() as tx:
        await tx.session.execute(update(DeviceSession).where(DeviceSession.id == old).values(expires_at=utcnow() - dt.timedelta(days=40)))
    node = create_app(settings.model_copy(update={"retention_every_s": 0.2, "node_name": "scheduled"}))
    async with TestClient(TestServer(node)):
        for _ in range(200):
            if await sessions_of(db, alice.id) == [live]:
                break
            await asyncio.sleep(0.05)
    assert await sessions_of(db, alice.id) == [live]
