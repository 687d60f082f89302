"""A person's devices (their open sessions), and revoking them.

Revoking marks the session row; the bearer token stops working at once because
``authenticate`` reads the row on every request. In the same transaction a
``session.revoked`` event goes to the user's stream, and the gateway hub closes
the WebSockets of those sessions on every node.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, select, update

from server.accounts.models import DeviceSession
from server.db import Transaction, utcnow
from server.errors import NotFound
from server.gateway.events import emit

SESSION_REVOKED = "session.revoked"


async def list_devices(tx: Transaction, user_id: int) -> list[DeviceSession]:
    """The user's sessions that still work, most recently used first."""
    rows = await tx.session.scalars(
        select(DeviceSession)
        .where(DeviceSession.user_id == user_id, DeviceSession.revoked_at.is_(None), DeviceSession.expires_at > utcnow())
        .order_by(DeviceSession.last_seen_at.desc(), DeviceSession.id.desc())
    )
    return list(rows)


async def do_revoke_sessions(tx: Transaction, user_id: int, which: ColumnElement[bool]) -> list[int]:
    """Revoke the user's live sessions matching ``which``; returns their ids (only the user's own can match)."""
    return (await do_revoke_matching_sessions(tx, (DeviceSession.user_id == user_id) & which)).get(user_id, [])


async def do_revoke_matching_sessions(tx: Transaction, which: ColumnElement[bool]) -> dict[int, list[int]]:
    """Revoke every live session matching ``which`` (one UPDATE), then tell each user which of theirs ended."""
    rows = (
        await tx.session.execute(
            update(DeviceSession)
            .where(DeviceSession.revoked_at.is_(None), which)
            .values(revoked_at=utcnow())
            .returning(DeviceSession.user_id, DeviceSession.id)
            .execution_options(synchronize_session=False)
        )
    ).all()
    revoked: dict[int, list[int]] = {}
    for user_id, session_id in rows:
        revoked.setdefault(user_id, []).append(session_id)
    for user_id, session_ids in sorted(revoked.items()):
        session_ids.sort()
        await emit(tx, [user_id], SESSION_REVOKED, {"session_ids": session_ids})
    return revoked


async def do_revoke_device(tx: Transaction, user_id: int, session_id: int) -> None:
    """Sign one of the user's devices out; another person's session reads as missing."""
    if not await do_revoke_sessions(tx, user_id, DeviceSession.id == session_id):
        raise NotFound("no such device", field="session_id")


async def do_revoke_other_sessions(tx: Transaction, user_id: int, keep_session_id: int) -> list[int]:
    return await do_revoke_sessions(tx, user_id, DeviceSession.id != keep_session_id)
