"""``emit`` to thousands of people: each gets its next number, the events are stored, one bus message says so,
and on PostgreSQL the statements do not grow with the number of recipients."""
from __future__ import annotations

import json
import uuid

from sqlalchemy import delete, func, insert, select

from server.accounts.models import User
from server.appkeys import BUS
from server.db import utcnow
from server.gateway.events import USER_EVENTS_CHANNEL, emit
from server.gateway.models import UserEvent, UserStream
from tests.statements import statements_sent


async def _people(db, count: int) -> list[int]:
    tag = uuid.uuid4().hex[:8]
    now = utcnow()
    async with db.transaction() as tx:
        rows = [{"kind": "person", "name": f"P{i}", "email": f"{tag}-{i}@example.org", "totp_enabled": False, "created_at": now} for i in range(count)]
        result = await tx.session.execute(insert(User).returning(User.id), rows)
        return sorted(result.scalars())


async def _emit_counting_statements(db, user_ids: list[int], data: dict) -> tuple[dict[int, int], int]:
    async with db.transaction() as tx:
        async with statements_sent(db, tx) as statements:
            seqs = await emit(tx, user_ids, "test.notice", data)
    return seqs, len(statements)


async def test_emit_numbers_stores_and_announces_once_for_thousands_of_recipients(app, db, backend):
    people = await _people(db, 5100)  # more than one SQLite chunk
    announced: list[dict] = []
    app[BUS].subscribe(USER_EVENTS_CHANNEL, lambda payload: announced.append(json.loads(payload)))

    first, _ = await _emit_counting_statements(db, people[:3000], {"n": 1, "text": "héllo"})
    second, statements = await _emit_counting_statements(db, list(reversed(people)) + people[:10], {"n": 2})

    assert first == {u: 1 for u in people[:3000]}
    assert second == {u: 2 for u in people[:3000]} | {u: 1 for u in people[3000:]}
    assert [len(m["users"]) for m in announced] == [3000, 5100]
    assert announced[1]["users"] == [[u, second[u]] for u in people] and announced[1]["data"] == {"n": 2}
    async with db.transaction() as tx:
        stored = await tx.session.scalar(select(func.count()).select_from(UserEvent).where(UserEvent.user_id.in_(people)))
        sample = await tx.session.scalar(select(UserEvent).where(UserEvent.user_id == people[0], UserEvent.seq == 1))
    assert stored == 8100
    assert (sample.type, sample.data) == ("test.notice", {"n": 1, "text": "héllo"})
    if backend == "postgresql":
        _, few = await _emit_counting_statements(db, people[:3], {"n": 3})
        assert statements == few == 1, "emit's statements grew with the number of recipients"


async def test_every_user_has_a_stream_from_its_creation_and_its_events_go_with_it(db, backend):
    kept, gone = await _people(db, 2)
    async with db.transaction() as tx:
        streams = dict((await tx.session.execute(select(UserStream.user_id, UserStream.last_seq).where(UserStream.user_id.in_([kept, gone])))).all())
    assert streams == {kept: 0, gone: 0}
    await _emit_counting_statements(db, [kept, gone], {"n": 1})
    await _emit_counting_statements(db, [gone], {"n": 2})

    async with db.transaction() as tx:
        await tx.session.execute(delete(User).where(User.id == gone))
    async with db.transaction() as tx:
        left = (await tx.session.execute(select(UserEvent.user_id, UserEvent.seq).where(UserEvent.user_id.in_([kept, gone])))).all()
        stream_of_gone = await tx.session.scalar(select(UserStream.user_id).where(UserStream.user_id == gone))
    assert left == [(kept, 1)] and stream_of_gone is None


async def test_a_user_that_no_longer_exists_gets_nothing_and_the_others_get_the_event(app, db, backend):
    alice, bob = await _people(db, 2)
    async with db.transaction() as tx:
        await tx.session.execute(delete(User).where(User.id == bob))
    announced: list[dict] = []
    app[BUS].subscribe(USER_EVENTS_CHANNEL, lambda payload: announced.append(json.loads(payload)))

    seqs, _ = await _emit_counting_statements(db, [alice, bob], {"n": 1})

    assert seqs == {alice: 1}
    assert [m["users"] for m in announced] == [[[alice, 1]]]
    async with db.transaction() as tx:
        assert (await tx.session.execute(select(UserEvent.user_id).where(UserEvent.user_id.in_([alice, bob])))).scalars().all() == [alice]


async def test_on_sqlite_a_user_whose_stream_row_is_missing_still_gets_the_event(db, backend):
    """SQLite loses a table's triggers when a migration rebuilds it; emit then makes the stream row itself."""
    if backend != "sqlite":
        return  # PostgreSQL keeps its triggers through ALTER TABLE
    (alice,) = await _people(db, 1)
    async with db.transaction() as tx:
        await tx.session.execute(delete(UserStream).where(UserStream.user_id == alice))

    first, _ = await _emit_counting_statements(db, [alice], {"n": 1})
    second, _ = await _emit_counting_statements(db, [alice], {"n": 2})

    assert (first, second) == ({alice: 1}, {alice: 2})
