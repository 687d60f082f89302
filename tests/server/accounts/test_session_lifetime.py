"""A device session ends MUSTER_SESSION_MAX_DAYS after sign-in however much it is used (a stolen token does not live for ever)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from server.accounts.models import DeviceSession
from server.db import utcnow
from tests.factories import person

MAX_DAYS = 90  # the default of MUSTER_SESSION_MAX_DAYS


async def signed_in_days_ago(db, user_id: int, days: float) -> None:
    """Make the user's session look signed in ``days`` ago and used up to a few minutes ago, so its sliding expiry is far off."""
    now = utcnow()
    async with db.transaction() as tx:
        await tx.session.execute(
            update(DeviceSession)
            .where(DeviceSession.user_id == user_id)
            .values(created_at=now - dt.timedelta(days=days), last_seen_at=now - dt.timedelta(minutes=6), expires_at=now + dt.timedelta(days=29))
        )


async def test_a_session_in_daily_use_ends_at_its_absolute_lifetime(client, db, backend):
    alice = await person(client, db)
    await signed_in_days_ago(db, alice.id, MAX_DAYS + 0.01)

    resp = await client.get("/api/v1/me", headers=alice.headers)

    assert resp.status == 401 and (await resp.json())["error"]["code"] == "session_invalid"


async def test_using_a_session_never_pushes_its_expiry_past_the_absolute_lifetime(client, db, backend):
    alice = await person(client, db)
    await signed_in_days_ago(db, alice.id, MAX_DAYS - 1)

    assert (await client.get("/api/v1/me", headers=alice.headers)).status == 200

    async with db.transaction() as tx:
        device = await tx.session.scalar(select(DeviceSession).where(DeviceSession.user_id == alice.id))
    assert device.expires_at <= device.created_at + dt.timedelta(days=MAX_DAYS)
    assert device.expires_at > utcnow() + dt.timedelta(hours=23)
