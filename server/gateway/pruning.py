"""Pruning the per-user event streams: by age and by a cap per person, always a prefix, with its watermark.

The rule, per user: keep the events of the last ``MUSTER_RETENTION_EVENT_DAYS``
and, whatever their age, at most the ``MUSTER_RETENTION_EVENTS_PER_USER``
newest. Everything numbered at or below a *target* goes, where the target is
the higher of the number just below the user's first event newer than the
cutoff and ``last_seq - cap``. What is deleted is always a prefix of the
stream, so what is kept is exactly the numbers above the watermark
(``user_stream_watermarks.pruned_through``), which the same transaction
raises; a device that resumes from below it is told to resync
(server/gateway/stream.py). Numbers are handed out in commit order and an
event's time is taken just before, so a prefix by number is, to within the
length of a transaction at the cutoff, a prefix by age.

Cost. The job walks ``user_streams`` by user id, ``batch // 10`` users at a
time, skipping users with nothing above their watermark. For each, one
statement finds the first event newer than the cutoff: a range of the
primary key ``(user_id, seq)`` read upwards from the watermark, which stops
at that event, so it reads the rows it is about to delete and one more.
The deletions are ranges of the same key, ``batch`` rows per transaction at
most (a user with more is done in several), and take no lock but the deleted
rows': ``emit`` (new numbers, other rows) and replays (MVCC) never wait.
The watermark has its own table so pruning never takes the stream row's lock.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import AsyncIterator
from typing import NamedTuple

from sqlalchemy import BigInteger, bindparam, delete, func, select

from server.config import Settings
from server.db import Database, UTCDateTime
from server.db.upsert import insert_for
from server.gateway.models import UserEvent, UserStream, UserStreamWatermark
from server.retention.registry import Pruning

_streams, _events, _marks = UserStream.__table__, UserEvent.__table__, UserStreamWatermark.__table__


class Cut(NamedTuple):
    user_id: int
    after: int  # the watermark now: deleted are the events numbered above it...
    through: int  # ...up to and including this, the new watermark


def _plan_statement():
    pruned = func.coalesce(_marks.c.pruned_through, 0)
    first_new = (
        select(_events.c.seq)
        .where(
            _events.c.user_id == _streams.c.user_id,
            _events.c.seq > pruned,
            _events.c.seq <= pruned + bindparam("window", type_=BigInteger),
            _events.c.created_at >= bindparam("cutoff", type_=UTCDateTime),
        )
        .order_by(_events.c.seq)
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(_streams.c.user_id, _streams.c.last_seq, pruned, first_new)
        .outerjoin(_marks, _marks.c.user_id == _streams.c.user_id)
        .where(_streams.c.user_id > bindparam("after_user", type_=BigInteger), _streams.c.last_seq > pruned)
        .order_by(_streams.c.user_id)
        .limit(bindparam("users"))
    )


_PLAN = _plan_statement()
_DELETE = delete(_events).where(
    _events.c.user_id == bindparam("u", type_=BigInteger), _events.c.seq > bindparam("lo", type_=BigInteger),
    _events.c.seq <= bindparam("hi", type_=BigInteger),
)


def cut_of(user_id: int, last_seq: int, pruned: int, first_new: int | None, *, keep_newest: int, window: int) -> Cut | None:
    """What to delete of one user's stream this round (at most ``window`` events), or None."""
    by_age = first_new - 1 if first_new is not None else last_seq  # no event newer than the cutoff in the window: all old
    through = min(max(by_age, last_seq - keep_newest), pruned + window, last_seq)
    return Cut(user_id, pruned, through) if through > pruned else None


async def _plan(db: Database, after_user: int, users: int, cutoff: dt.datetime, *, keep_newest: int, window: int):
    """The cuts for the next ``users`` users after ``after_user`` with anything to prune, and the last user looked at."""
    async with db.transaction() as tx:
        rows = (await tx.session.execute(_PLAN, {"after_user": after_user, "users": users, "window": window, "cutoff": cutoff})).all()
    cuts = [cut_of(*row, keep_newest=keep_newest, window=window) for row in rows]
    return [cut for cut in cuts if cut is not None], (rows[-1][0] if len(rows) == users else None)


@functools.cache
def _raise_marks(dialect: str):
    """Set each user's watermark to ``hi``, never lowering it."""
    mark = insert_for(dialect, _marks).values(user_id=bindparam("u"), pruned_through=bindparam("hi"))
    return mark.on_conflict_do_update(
        index_elements=[_marks.c.user_id], set_={"pruned_through": mark.excluded.pruned_through},
        where=_marks.c.pruned_through < mark.excluded.pruned_through,
    )


async def do_delete_cuts(db: Database, cuts: list[Cut]) -> int:
    """Raise the watermarks and delete the events below them, in one transaction; returns how many events went."""
    params = [{"u": c.user_id, "lo": c.after, "hi": c.through} for c in cuts]
    async with db.transaction() as tx:
        await tx.session.execute(_raise_marks(db.dialect), params)
        await tx.session.execute(_DELETE, params)
    return sum(c.through - c.after for c in cuts)  # numbers are gap-free: each cut held exactly this many


def event_pruning(settings: Settings) -> Pruning:
    batch, keep_newest = settings.retention_batch, settings.retention_events_per_user
    keep = dt.timedelta(days=settings.retention_event_days)
    users = max(1, batch // 10)

    async def batches(db: Database, now: dt.datetime) -> AsyncIterator[int]:
        cutoff = now - keep
        after_user: int | None = 0
        while after_user is not None:
            cuts, next_after = await _plan(db, after_user, users, cutoff, keep_newest=keep_newest, window=batch)
            if any(c.through - c.after == batch for c in cuts):
                next_after = after_user  # a user had more than one batch to go: plan these users again
            pending: list[Cut] = []
            rows = 0
            for cut in cuts:
                pending.append(cut)
                rows += cut.through - cut.after
                if rows >= batch:
                    yield await do_delete_cuts(db, pending)
                    pending, rows = [], 0
            if pending:
                yield await do_delete_cuts(db, pending)
            after_user = next_after

    return Pruning("per-user events", batches)
