"""Per-user events: stored with their stream number, then published on the bus after commit.

Cost: for N recipients, one locking SELECT, one UPDATE ... RETURNING and one
multi-row INSERT per chunk of 5,000, and a single bus message. Locks are taken
in user-id order so two broadcasts to overlapping people cannot deadlock.
"""
from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import select, update

from server.db import Transaction, utcnow
from server.db.upsert import insert_for
from server.gateway.models import UserEvent, UserStream

USER_EVENTS_CHANNEL = "user-events"
_CHUNK = 5000


async def emit(tx: Transaction, user_ids: Sequence[int], type: str, data: dict) -> dict[int, int]:
    """Append one event to each user's stream; returns ``{user_id: seq}``. Devices hear of it after commit."""
    users = sorted(set(user_ids))
    if not users:
        return {}
    session = tx.session
    seqs: dict[int, int] = {}
    now = utcnow()
    for start in range(0, len(users), _CHUNK):
        chunk = users[start : start + _CHUNK]
        await session.execute(
            insert_for(tx.dialect, UserStream).values([{"user_id": u, "last_seq": 0} for u in chunk]).on_conflict_do_nothing()
        )
        locking = select(UserStream.user_id).where(UserStream.user_id.in_(chunk)).order_by(UserStream.user_id)
        if tx.dialect == "postgresql":
            await session.execute(locking.with_for_update())
        result = await session.execute(
            update(UserStream)
            .where(UserStream.user_id.in_(chunk))
            .values(last_seq=UserStream.last_seq + 1)
            .returning(UserStream.user_id, UserStream.last_seq)
            .execution_options(synchronize_session=False)
        )
        seqs.update(dict(result.all()))
        await session.execute(
            insert_for(tx.dialect, UserEvent).values(
                [{"user_id": u, "seq": seqs[u], "type": type, "data": data, "created_at": now} for u in chunk]
            )
        )
    message = {"users": [[u, seqs[u]] for u in users], "type": type, "data": data, "at": now.isoformat()}
    tx.publish(USER_EVENTS_CHANNEL, json.dumps(message, separators=(",", ":")).encode())
    return seqs
