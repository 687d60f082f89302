"""Per-user events: stored with their stream number, then published on the bus after commit.

Cost for N recipients on PostgreSQL: two statements whatever N is. One
``INSERT ... SELECT unnest(ids) ... ON CONFLICT DO UPDATE ... RETURNING``
creates or advances every recipient's stream counter and returns the new
numbers; one ``INSERT ... SELECT unnest(users, seqs)`` stores the events,
with the type, the JSON data and the time bound once, not once per row.
Both statements are the same text for any N, so they are compiled once.
The counters are locked in user-id order (the rows are inserted sorted), so
two broadcasts to overlapping people cannot deadlock. SQLite, one process
and small, takes the same steps with multi-row statements in chunks.

After commit a single bus message names every recipient and its number.
"""
from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import BigInteger, String, bindparam, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from server.db import JSONType, Transaction, UTCDateTime, utcnow
from server.gateway.models import UserEvent, UserStream

USER_EVENTS_CHANNEL = "user-events"
_SQLITE_CHUNK = 5000

# Core tables, not the ORM classes: the ORM would treat these statements as its own bulk inserts.
_streams, _events = UserStream.__table__, UserEvent.__table__
_ids = postgresql.ARRAY(BigInteger)
_first_row = select(func.unnest(bindparam("user_ids", type_=_ids)).label("user_id"), literal(1, BigInteger))
_NEXT_SEQS = (
    postgresql.insert(_streams)
    .from_select(["user_id", "last_seq"], _first_row.order_by("user_id"))
    .on_conflict_do_update(index_elements=[_streams.c.user_id], set_={"last_seq": _streams.c.last_seq + 1})
    .returning(_streams.c.user_id, _streams.c.last_seq)
)
_numbered = func.unnest(bindparam("user_ids", type_=_ids), bindparam("seqs", type_=_ids)).table_valued("user_id", "seq").render_derived()
_STORE_EVENTS = postgresql.insert(_events).from_select(
    ["user_id", "seq", "type", "data", "created_at"],
    select(
        _numbered.c.user_id,
        _numbered.c.seq,
        bindparam("type", type_=String),
        bindparam("data", type_=JSONType),
        bindparam("created_at", type_=UTCDateTime),
    ),
)


async def emit(tx: Transaction, user_ids: Sequence[int], type: str, data: dict) -> dict[int, int]:
    """Append one event to each user's stream; returns ``{user_id: seq}``. Devices hear of it after commit."""
    users = sorted(set(user_ids))
    if not users:
        return {}
    now = utcnow()
    if tx.dialect == "postgresql":
        seqs = await _emit_postgresql(tx, users, type, data, now)
    else:
        seqs = await _emit_sqlite(tx, users, type, data, now)
    message = {"users": [[u, seqs[u]] for u in users], "type": type, "data": data, "at": now.isoformat()}
    tx.publish(USER_EVENTS_CHANNEL, json.dumps(message, separators=(",", ":")).encode())
    return seqs


async def _emit_postgresql(tx: Transaction, users: list[int], type: str, data: dict, now) -> dict[int, int]:
    session = tx.session
    seqs = dict((await session.execute(_NEXT_SEQS, {"user_ids": users})).all())
    await session.execute(
        _STORE_EVENTS, {"user_ids": users, "seqs": [seqs[u] for u in users], "type": type, "data": data, "created_at": now}
    )
    return seqs


async def _emit_sqlite(tx: Transaction, users: list[int], type: str, data: dict, now) -> dict[int, int]:
    session = tx.session
    seqs: dict[int, int] = {}
    for start in range(0, len(users), _SQLITE_CHUNK):
        chunk = users[start : start + _SQLITE_CHUNK]
        advance = (
            sqlite.insert(_streams)
            .values([{"user_id": u, "last_seq": 1} for u in chunk])
            .on_conflict_do_update(index_elements=[_streams.c.user_id], set_={"last_seq": _streams.c.last_seq + 1})
            .returning(_streams.c.user_id, _streams.c.last_seq)
        )
        seqs.update((await session.execute(advance)).all())
        await session.execute(
            sqlite.insert(_events).values(
                [{"user_id": u, "seq": seqs[u], "type": type, "data": data, "created_at": now} for u in chunk]
            )
        )
    return seqs
