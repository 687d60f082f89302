"""Many people at once, for durability tests and the benchmark: rows inserted in bulk, sessions issued without passwords."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select

from server.accounts.auth import hash_token, new_token
from server.accounts.models import DeviceSession, User
from server.db import Database, utcnow
from server.orgs.models import Membership, Organisation


async def make_crowd(db: Database, count: int, *, phones: bool, tag: str) -> tuple[int, int, str, list[tuple[int, str]]]:
    """An organisation with an owner and ``count`` members, each with one device session.

    Returns (org id, owner's user id, owner's token, [(member user id, member token)]).
    Phones are +44 7946 0xxxxx (Ofcom's range for drama), one per member.
    """
    now = utcnow()
    async with db.transaction() as tx:
        org = Organisation(name=f"Crowd {tag}", slug=f"crowd-{tag}")
        tx.session.add(org)
        await tx.session.flush()
        users = [{"name": f"Person {i}", "email": f"p{i}.{tag}@example.org", "kind": "person", "totp_enabled": False, "created_at": now}
                 for i in range(count + 1)]
        ids = list(await tx.session.scalars(insert(User).returning(User.id), users))
        tokens = [new_token() for _ in ids]
        await tx.session.execute(insert(DeviceSession), [
            {"user_id": u, "token_hash": hash_token(t), "device_name": "bench", "user_agent": "", "ip": "", "created_at": now,
             "last_seen_at": now, "expires_at": now + dt.timedelta(days=1)} for u, t in zip(ids, tokens)
        ])
        await tx.session.execute(insert(Membership), [
            {"org_id": org.id, "user_id": u, "role": "owner" if i == 0 else "member", "display_name": f"Person {i}",
             "phone": f"+4479460{i:05d}" if phones and i else None, "title": "", "created_at": now}
            for i, u in enumerate(ids)
        ])
        assert await tx.session.scalar(select(Organisation.id).where(Organisation.id == org.id)) == org.id
    return org.id, ids[0], tokens[0], list(zip(ids[1:], tokens[1:]))
