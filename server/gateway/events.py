"""Per-user events: stored with their stream number, then published on the bus after commit.

Cost for N recipients on PostgreSQL: one statement whatever N is, the same
text for any N, so it is compiled once. It locks the recipients' stream rows
in user-id order (``FOR NO KEY UPDATE``: two sends to overlapping people wait
for each other instead of deadlocking), advances their counters
(``UPDATE ... RETURNING``) and inserts the events from what that returned,
with the type, the JSON data and the time bound once, not once per row. A
stream row exists for every user (server/gateway/models.py), so nothing is
inserted into ``user_streams`` here and no foreign key is checked per event
(10,000 recipients: 0.39 s before, ~0.1 s now, bench/urgent.py). The ids
are one ``= ANY(:user_ids)``, the primary key's index condition in the
custom and the generic plan alike (elsewhere, as a filter under a generic
plan, it can become a search of the array per row: notify/recipients.py).
SQLite, one process and small, takes the same steps with statements in chunks.

A user without a stream row does not exist (any more): it gets nothing.

After commit a single bus message names every recipient and its number.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from sqlalchemy import BigInteger, String, any_, bindparam, insert, literal, select, update
from sqlalchemy.dialects import postgresql

from server.accounts.models import User
from server.db import JSONType, Transaction, UTCDateTime, utcnow
from server.gateway.models import UserEvent, UserStream

log = logging.getLogger("muster.gateway")

USER_EVENTS_CHANNEL = "user-events"
_SQLITE_CHUNK = 5000

# Core tables, not the ORM classes: the ORM would treat these statements as its own bulk inserts.
_streams, _events = UserStream.__table__, UserEvent.__table__
_EVENT_COLUMNS = ["user_id", "seq", "type", "data", "created_at"]
_type, _data, _at = bindparam("type", type_=String), bindparam("data", type_=JSONType), bindparam("created_at", type_=UTCDateTime)

_locked = (
    select(_streams.c.user_id)
    .where(_streams.c.user_id == any_(bindparam("user_ids", type_=postgresql.ARRAY(BigInteger))))
    .order_by(_streams.c.user_id)
    .with_for_update(key_share=True)
    .cte("locked")
)
_advanced = (
    update(_streams)
    .where(_streams.c.user_id == _locked.c.user_id)
    .values(last_seq=_streams.c.last_seq + 1)
    .returning(_streams.c.user_id, _streams.c.last_seq)
    .cte("advanced")
)
_stored = insert(_events).from_select(_EVENT_COLUMNS, select(_advanced.c.user_id, _advanced.c.last_seq, _type, _data, _at)).cte("stored")
_EMIT = select(_advanced.c.user_id, _advanced.c.last_seq).add_cte(_stored)


async def emit(tx: Transaction, user_ids: Sequence[int], type: str, data: dict) -> dict[int, int]:
    """Append one event to each user's stream; returns ``{user_id: seq}``. Devices hear of it after commit."""
    users = sorted(set(user_ids))
    if not users:
        return {}
    now = utcnow()
    if tx.dialect == "postgresql":
        seqs = dict((await tx.session.execute(_EMIT, {"user_ids": users, "type": type, "data": data, "created_at": now})).all())
    else:
        seqs = await _emit_sqlite(tx, users, type, data, now)
    if len(seqs) < len(users):
        log.warning("event %s: %d of %d users have no stream (deleted meanwhile?)", type, len(users) - len(seqs), len(users))
        users = [u for u in users if u in seqs]
    message = {"users": [[u, seqs[u]] for u in users], "type": type, "data": data, "at": now.isoformat()}
    tx.publish(USER_EVENTS_CHANNEL, json.dumps(message, separators=(",", ":")).encode())
    return seqs


async def _emit_sqlite(tx: Transaction, users: list[int], type: str, data: dict, now) -> dict[int, int]:
    session = tx.session
    seqs: dict[int, int] = {}
    for start in range(0, len(users), _SQLITE_CHUNK):
        chunk = users[start : start + _SQLITE_CHUNK]
        # SQLite drops a table's triggers when a migration rebuilds it (batch mode), and with them the one
        # that gives new users their stream row: make any that are missing, for users that exist.
        await session.execute(
            insert(_streams).from_select(
                ["user_id", "last_seq"],
                select(User.id, literal(0, BigInteger)).where(User.id.in_(chunk), User.id.not_in(select(_streams.c.user_id))),
            )
        )
        advance = (
            update(_streams)
            .where(_streams.c.user_id.in_(chunk))
            .values(last_seq=_streams.c.last_seq + 1)
            .returning(_streams.c.user_id, _streams.c.last_seq)
        )
        advanced = (await session.execute(advance)).all()
        seqs.update(advanced)
        if advanced:
            await session.execute(
                insert(_events).values([{"user_id": u, "seq": seq, "type": type, "data": data, "created_at": now} for u, seq in advanced])
            )
    return seqs
