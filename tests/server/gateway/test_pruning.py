"""Retention of the per-user event streams: pruned by age and by a cap per person, in bounded batches, a prefix
with its watermark; a device that comes back from below the watermark is told to resync, never left with a gap."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select, update

from server.appkeys import SETTINGS
from server.db import Database, utcnow
from server.gateway.events import emit
from server.gateway.models import UserEvent, UserStreamWatermark
from server.gateway.pruning import event_pruning
from tests.factories import person
from tests.server.gateway.sockets import connect, emit_to, token_of


def ws_url(client) -> str:
    return str(client.make_url("/api/v1/ws"))


async def emit_many(db: Database, user_ids: list[int], count: int, *, days_ago: float = 0) -> None:
    """``count`` events to each of ``user_ids``, stamped ``days_ago``."""
    async with db.transaction() as tx:
        first = {}
        for n in range(count):
            seqs = await emit(tx, user_ids, "test.n", {"n": n})
            first = first or seqs
        if days_ago:
            for user_id, seq in first.items():
                await tx.session.execute(
                    update(UserEvent).where(UserEvent.user_id == user_id, UserEvent.seq >= seq)
                    .values(created_at=utcnow() - dt.timedelta(days=days_ago))
                )


async def kept(db: Database, user_id: int) -> list[int]:
    async with db.transaction() as tx:
        return list(await tx.session.scalars(select(UserEvent.seq).where(UserEvent.user_id == user_id).order_by(UserEvent.seq)))


async def watermark(db: Database, user_id: int) -> int | None:
    async with db.transaction() as tx:
        return await tx.session.scalar(select(UserStreamWatermark.pruned_through).where(UserStreamWatermark.user_id == user_id))


async def prune(app, db: Database) -> list[int]:
    """Run the event pruning to the end; what each batch deleted."""
    return [gone async for gone in event_pruning(app[SETTINGS]).batches(db, utcnow())]


async def with_pruned_stream(client, db: Database, app, *, old: int, recent: int):
    """A person whose stream had ``old`` events from 40 days ago and then ``recent`` new ones, pruned."""
    someone = await person(client, db)
    await emit_many(db, [someone.id], old, days_ago=40)
    await emit_many(db, [someone.id], recent)
    await prune(app, db)
    return someone


async def test_events_older_than_the_age_are_pruned_and_the_watermark_records_how_far(client, db, app):
    alice, bob = await person(client, db), await person(client, db)
    await emit_many(db, [alice.id, bob.id], 30, days_ago=31)
    await emit_many(db, [alice.id], 5, days_ago=29)
    await emit_many(db, [alice.id, bob.id], 3)

    assert sum(await prune(app, db)) == 60
    assert await kept(db, alice.id) == list(range(31, 39))
    assert await kept(db, bob.id) == [31, 32, 33]
    assert (await watermark(db, alice.id), await watermark(db, bob.id)) == (30, 30)
    assert await prune(app, db) == []  # nothing more to do: the next pass deletes nothing
    assert await kept(db, alice.id) == list(range(31, 39))


async def test_only_the_newest_events_up_to_the_cap_are_kept_whatever_their_age(client, db, app):
    app[SETTINGS].retention_events_per_user = 100
    alice, bob = await person(client, db), await person(client, db)
    await emit_many(db, [alice.id], 250)
    await emit_many(db, [bob.id], 100)

    assert sum(await prune(app, db)) == 150
    assert await kept(db, alice.id) == list(range(151, 251))
    assert await watermark(db, alice.id) == 150
    assert await kept(db, bob.id) == list(range(1, 101)) and await watermark(db, bob.id) is None


async def test_a_large_purge_is_deleted_in_batches_of_bounded_size(client, db, app):
    app[SETTINGS].retention_batch = 100
    people = [await person(client, db) for _ in range(3)]
    await emit_many(db, [people[0].id], 350, days_ago=40)
    await emit_many(db, [people[1].id, people[2].id], 60, days_ago=40)
    await emit_many(db, [p.id for p in people], 2)

    batches = await prune(app, db)
    assert sum(batches) == 350 + 2 * 60
    assert len(batches) >= 5 and max(batches) < 2 * 100, batches
    for p, last in zip(people, (352, 62, 62)):
        assert await kept(db, p.id) == [last - 1, last]


async def test_a_device_resuming_from_a_pruned_position_is_told_to_resync_and_goes_on_from_the_stream(client, db, app):
    alice = await with_pruned_stream(client, db, app, old=20, recent=3)

    device = await connect(client.session, ws_url(client), token_of(alice.headers), user_seq=5)
    assert await device.next_frame() == {"type": "resync", "reason": "pruned", "user_seq": 23}
    replayed, ready = await device.until_ready()
    assert replayed == [] and ready["user_seq"] == 23
    await emit_to(db, [alice.id])
    assert [e["seq"] for e in await device.events(1)] == [24]


async def test_a_device_resuming_within_the_kept_events_gets_exactly_those_it_missed(client, db, app):
    alice = await with_pruned_stream(client, db, app, old=20, recent=6)

    at_the_watermark = await connect(client.session, ws_url(client), token_of(alice.headers), user_seq=20)
    replayed, ready = await at_the_watermark.until_ready()  # no resync frame first: until_ready refuses anything but events
    assert [e["seq"] for e in replayed] == list(range(21, 27)) and ready["user_seq"] == 26
    further = await connect(client.session, ws_url(client), token_of(alice.headers), user_seq=23)
    replayed, _ = await further.until_ready()
    assert [e["seq"] for e in replayed] == [24, 25, 26]
    assert [e["data"]["n"] for e in replayed] == [3, 4, 5]


async def test_a_new_device_gets_the_kept_events_without_a_resync(client, db, app):
    alice = await with_pruned_stream(client, db, app, old=10, recent=2)
    device = await connect(client.session, ws_url(client), token_of(alice.headers), user_seq=0)
    replayed, ready = await device.until_ready()
    assert [e["seq"] for e in replayed] == [11, 12] and ready["user_seq"] == 12


async def test_pruning_that_overtakes_a_connected_device_sends_it_resync_not_a_gap(client, db, app, settings):
    """Events the bus never announced (as during a Redis outage) are pruned before the socket reads them."""
    app[SETTINGS].retention_events_per_user = 100
    alice = await person(client, db)
    device = await connect(client.session, ws_url(client), token_of(alice.headers))
    await device.until_ready()
    await emit_to(db, [alice.id])
    assert [e["seq"] for e in await device.events(1)] == [1]
    silent = Database(settings.database_url)  # no bus: stores events, announces nothing
    try:
        await emit_many(silent, [alice.id], 150)
    finally:
        await silent.close()
    await prune(app, db)
    assert await watermark(db, alice.id) == 51

    await emit_to(db, [alice.id])  # announced: seq 152, a gap after 1 that the socket fills from the database
    assert await device.next_frame() == {"type": "resync", "reason": "pruned", "user_seq": 152}
    await emit_to(db, [alice.id])
    assert [e["seq"] for e in await device.events(1)] == [153]


async def test_events_missing_for_another_reason_are_a_resync_too(client, db):
    """The watermark, not the oldest row left, says what was pruned: a hole below no watermark is reported as missing."""
    alice = await person(client, db)
    await emit_many(db, [alice.id], 6)
    async with db.transaction() as tx:
        await tx.session.execute(delete(UserEvent).where(UserEvent.user_id == alice.id, UserEvent.seq.in_([3, 4])))
    device = await connect(client.session, ws_url(client), token_of(alice.headers), user_seq=2)
    assert await device.next_frame() == {"type": "resync", "reason": "missing", "user_seq": 6}
    replayed, ready = await device.until_ready()
    assert replayed == [] and ready["user_seq"] == 6


async def test_a_users_events_and_watermark_go_with_the_user(client, db, app):
    alice = await with_pruned_stream(client, db, app, old=5, recent=1)
    async with db.transaction() as tx:
        await tx.session.execute(delete(type(alice.user)).where(type(alice.user).id == alice.id))
    async with db.transaction() as tx:
        assert await tx.session.scalar(select(func.count()).select_from(UserStreamWatermark)) == 0
    assert await kept(db, alice.id) == []
