"""Reminders go to the non-submitters only, each once per reminder, durable across a node that stops, whichever nodes race."""
from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections import Counter

import pytest
from sqlalchemy import select, update

from server.accounts.models import User
from server.channels.registry import CHANNELS
from server.db import utcnow
from server.forms.models import FormReminder
from server.forms.reminders import claim_due, do_remind_batch, next_due_at
from server.forms.workers import FORMS_WORKER
from server.gateway.models import UserEvent
from tests.server.forms.rounds_world import WELL, make_school, send_round
from tests.server.orgs.conftest import ok


@pytest.fixture
def settings(settings):
    """No worker of the app's own: the tests run the nodes' work themselves."""
    return settings.model_copy(update={"forms_engine": False, "forms_reminder_batch": 2})


class Connected:
    """Presence as if these people had a device connected (the real one: tests/server/forms/test_reminders_two_nodes.py);
    ``at_first``, if given, those connected when the reminder asks who is, before its batches."""

    def __init__(self, user_ids=(), *, at_first=None) -> None:
        self.user_ids = set(user_ids)
        self.at_first = self.user_ids if at_first is None else set(at_first)

    @classmethod
    async def everybody(cls, db) -> "Connected":
        async with db.transaction() as tx:
            return cls(await tx.session.scalars(select(User.id)))

    async def connected(self, user_ids, **_patience) -> set[int]:
        return self.user_ids & set(user_ids)

    async def everyone(self) -> set[int]:
        return set(self.at_first)


async def reminded(db) -> Counter:
    async with db.transaction() as tx:
        return Counter(await tx.session.scalars(select(UserEvent.user_id).where(UserEvent.type == "form.reminder")))


async def submit(client, school, round_id, person) -> None:
    await ok(await client.post(school.url(f"/rounds/{round_id}/submissions"), json={"client_id": uuid.uuid4().hex, "answers": WELL},
                               headers=person.headers), 201)


async def node(app, db, name: str, presence=None) -> int:
    """One node's work on the due reminders: claim, then batch after batch; returns how many people it told."""
    told = 0
    for reminder_id, org_id in await claim_due(db, node=name):
        while True:
            batch = await remind_step(app, db, reminder_id, org_id, name, presence or await Connected.everybody(db))
            if batch is None:
                break
            told += batch.reminded
            if not batch.more:
                break
    return told


def _channels(app):
    return app[CHANNELS].settings


async def remind_step(app, db, reminder_id: int, org_id: int, name: str, presence, size: int = 2):
    return await do_remind_batch(db, reminder_id, org_id, node=name, size=size, presence=presence, channels=_channels(app),
                                 public_url="http://muster.test", default_locale="en")


async def test_remind_the_rest_tells_each_non_submitter_once_while_two_nodes_race(app, client, db):
    school = await make_school(client, db, {"n1": 5, "n2": 4, "s1": 3})
    rid = (await send_round(client, school))["id"]
    submitted = [school.people["n1"][1], school.people["s1"][0]]
    for person in submitted:
        await submit(client, school, rid, person)
    await ok(await client.post(school.url(f"/rounds/{rid}/reminders"), json={}, headers=school.owner), 202)
    told = await asyncio.gather(node(app, db, "node-a"), node(app, db, "node-b"))
    expected = {p.id for p in school.everyone()} - {p.id for p in submitted}
    got = await reminded(db)
    assert set(got) == expected and set(got.values()) == {1} and sum(told) == len(expected)
    (reminder,) = await ok(await client.get(school.url(f"/rounds/{rid}/reminders"), headers=school.owner))
    assert reminder["reminded"] == len(expected) and reminder["done_at"] is not None


async def test_a_reminder_of_one_class_tells_only_its_missing(app, client, db):
    school = await make_school(client, db)
    rid = (await send_round(client, school))["id"]
    await submit(client, school, rid, school.people["n2"][0])
    body = {"department_id": school.departments["north"]}
    await ok(await client.post(school.url(f"/rounds/{rid}/reminders"), json=body, headers=school.owner), 202)
    await node(app, db, "node-a")
    assert set(await reminded(db)) == {p.id for p in school.people["n1"]} | {school.people["n2"][1].id}


async def test_a_reminder_whose_last_batch_is_short_is_done_with_it(app, client, db):
    """Done when its last batch ends, not one lease later: a reminder due and not done keeps the worker from sleeping."""
    school = await make_school(client, db, {"n1": 5, "n2": 0, "s1": 0})
    rid = (await send_round(client, school))["id"]
    await ok(await client.post(school.url(f"/rounds/{rid}/reminders"), json={}, headers=school.owner), 202)
    told = await node(app, db, "node-a")
    (reminder,) = await ok(await client.get(school.url(f"/rounds/{rid}/reminders"), headers=school.owner))
    assert told % 2 == 1 and reminder["reminded"] == told and reminder["done_at"] is not None
    assert await next_due_at(db) is None


async def test_a_node_that_stops_mid_reminder_is_taken_over_where_it_stopped(app, client, db):
    school = await make_school(client, db, {"n1": 6, "n2": 0, "s1": 0})
    rid = (await send_round(client, school))["id"]
    await ok(await client.post(school.url(f"/rounds/{rid}/reminders"), json={}, headers=school.owner), 202)
    ((reminder_id, org_id),) = await claim_due(db, node="node-a")
    connecting = Connected((await Connected.everybody(db)).user_ids, at_first=())  # devices connect after the first step
    assert (await remind_step(app, db, reminder_id, org_id, "node-a", connecting)).reminded == 0
    first = await remind_step(app, db, reminder_id, org_id, "node-a", connecting)
    assert first.reminded == 2 and first.more
    assert await claim_due(db, node="node-b") == []  # node-a's lease still runs
    async with db.transaction() as tx:  # node-a stops; its lease runs out
        await tx.session.execute(update(FormReminder).values(claimed_at=utcnow() - dt.timedelta(minutes=5)))
    assert await node(app, db, "node-b", connecting) == 4
    assert await remind_step(app, db, reminder_id, org_id, "node-a", connecting) is None
    got = await reminded(db)
    assert set(got) == {p.id for p in school.people["n1"]} and set(got.values()) == {1}


async def test_scheduled_reminders_survive_a_restart_and_a_closed_round_tells_nobody(app, client, db):
    school = await make_school(client, db)
    soon = utcnow() + dt.timedelta(seconds=1)
    rid = (await send_round(client, school, remind_at=[soon.isoformat()]))["id"]
    await submit(client, school, rid, school.people["n1"][0])
    await asyncio.sleep(1.1)
    worker = app[FORMS_WORKER]  # a node that (re)started: everything it needs is in the tables
    worker.presence = await Connected.everybody(db)
    await worker.run_once()
    assert set(await reminded(db)) == {p.id for p in school.everyone()} - {school.people["n1"][0].id}
    later = utcnow() + dt.timedelta(minutes=5)
    closing = (await send_round(client, school, remind_at=[later.isoformat()]))["id"]
    await ok(await client.post(school.url(f"/rounds/{closing}/close"), headers=school.owner))
    async with db.transaction() as tx:
        pending = await tx.session.scalar(select(FormReminder.done_at).where(FormReminder.round_id == closing))
    assert pending is not None


async def test_people_with_no_device_connected_get_a_push_or_nothing_in_the_app(app, client, db):
    from server.channels.models import PushSubscription

    school = await make_school(client, db, {"n1": 3, "n2": 0, "s1": 0})
    rid = (await send_round(client, school))["id"]
    subscribed = school.people["n1"][0]
    async with db.transaction() as tx:
        tx.session.add(PushSubscription(user_id=subscribed.id, endpoint="https://push.example/1", p256dh="k", auth="a"))
    await ok(await client.post(school.url(f"/rounds/{rid}/reminders"), json={}, headers=school.owner), 202)
    ((reminder_id, org_id),) = await claim_due(db, node="node-a")
    assert (await remind_step(app, db, reminder_id, org_id, "node-a", Connected())).reminded == 0  # nobody connected
    batch = await remind_step(app, db, reminder_id, org_id, "node-a", Connected(), size=10)
    assert [m.user_id for m in batch.outreach.push] == [subscribed.id] and batch.outreach.sms == [] and batch.reminded == 1
    assert batch.outreach.push[0].data["round_id"] == rid
    assert await reminded(db) == Counter()


async def test_by_sms_when_the_organisation_chose_it_within_the_allowances(app, client, db):
    school = await make_school(client, db, {"n1": 2, "n2": 0, "s1": 0})
    rid = (await send_round(client, school))["id"]
    await ok(await client.put(school.url("/form-policy"), json={"reminder_sms": True}, headers=school.owner))
    await ok(await client.post(school.url(f"/rounds/{rid}/reminders"), json={}, headers=school.owner), 202)
    ((reminder_id, org_id),) = await claim_due(db, node="node-a")
    assert (await remind_step(app, db, reminder_id, org_id, "node-a", Connected())).reminded == 0  # nobody connected
    batch = await remind_step(app, db, reminder_id, org_id, "node-a", Connected(), size=10)
    assert sorted(m.to for m in batch.outreach.sms) == sorted(f"+86138000{school.departments['n1']:03d}{i:02d}" for i in range(2))
    assert all(f"http://muster.test/f/{rid}" in m.body and m.idempotency_key.startswith(f"muster-form-reminder-{reminder_id}-")
               for m in batch.outreach.sms)


async def test_the_connected_are_told_first_in_one_step_and_the_batches_then_leave_them_out(app, client, db):
    """The first step tells everyone connected at once; the batches push to the away and tell in the app those who
    connected since, and nobody the first step told, even once their device is gone and they have a push subscription."""
    from server.channels.models import PushSubscription

    school = await make_school(client, db, {"n1": 6, "n2": 0, "s1": 0})
    a, b, c, d, e, f = school.people["n1"]
    rid = (await send_round(client, school))["id"]
    await submit(client, school, rid, f)
    async with db.transaction() as tx:
        for n, person in enumerate((a, d, f)):
            tx.session.add(PushSubscription(user_id=person.id, endpoint=f"https://push.example/{n}", p256dh="k", auth="a"))
    await ok(await client.post(school.url(f"/rounds/{rid}/reminders"), json={}, headers=school.owner), 202)
    ((reminder_id, org_id),) = await claim_due(db, node="node-a")
    later = Connected({b.id, c.id, f.id}, at_first={a.id, b.id, f.id})  # a's device goes away after the first step, c's comes
    first = await remind_step(app, db, reminder_id, org_id, "node-a", later)
    assert first.reminded == 2 and first.more and first.outreach.push == []
    assert await reminded(db) == Counter({a.id: 1, b.id: 1})
    pushed = []
    while (batch := await remind_step(app, db, reminder_id, org_id, "node-a", later)) is not None:
        pushed += [m.user_id for m in batch.outreach.push]
        if not batch.more:
            break
    assert pushed == [d.id]
    assert await reminded(db) == Counter({a.id: 1, b.id: 1, c.id: 1})
    (reminder,) = await ok(await client.get(school.url(f"/rounds/{rid}/reminders"), headers=school.owner))
    assert reminder["reminded"] == 4 and reminder["done_at"] is not None
