"""Trusted devices: "remember this device" lets a browser sign in with the password alone.

After a sign-in with a correct second-factor code and ``remember_device``,
``do_trust_device`` hands the browser a token (``mtd_`` + 32 random bytes,
shown once, stored only as its SHA-256). On a later sign-in of the same
account that token stands in for the code: the password is still checked
first and the sign-in rate limit still counts. It works only for the account
it was issued to, until ``expires_at`` (``trusted_device_days`` after it was
issued, however much it is used), and ends when its owner revokes it, changes
the password or turns two-factor sign-in off.
"""
from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import ColumnElement, select, update

from server.accounts.auth import hash_token
from server.accounts.models import TrustedDevice, User
from server.audit.record import Someone, do_audit_orgs
from server.db import Transaction, utcnow
from server.errors import NotFound
from server.orgs.models import Membership

TOKEN_PREFIX = "mtd_"


async def _audit(tx: Transaction, user: User, action: str, device_id: int | None, details: dict) -> None:
    """In each of the person's organisations, as sign-ins are (server/accounts/login.py)."""
    org_ids = (await tx.session.scalars(select(Membership.org_id).where(Membership.user_id == user.id))).all()
    target = ("trusted_device", device_id) if device_id is not None else None
    await do_audit_orgs(tx, Someone(user.id, user.name), action, org_ids, target=target, details=details)


async def do_trust_device(tx: Transaction, user: User, *, days: int, device_name: str, user_agent: str) -> tuple[str, TrustedDevice]:
    """Remember this browser for ``user``; returns the token (its only copy) and the row."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    device = TrustedDevice(
        user_id=user.id, token_hash=hash_token(token), device_name=device_name[:200], user_agent=user_agent[:400],
        created_at=now, last_used_at=now, expires_at=now + dt.timedelta(days=days),
    )
    tx.session.add(device)
    await tx.session.flush()
    await _audit(tx, user, "account.device_trusted", device.id, {"device_name": device.device_name, "user_agent": device.user_agent})
    return token, device


async def do_use_trusted_device(tx: Transaction, user: User, token: str | None) -> TrustedDevice | None:
    """The live trusted device of ``user`` that ``token`` names (its last use noted), or None: another
    person's token, an unknown, expired or revoked one all read the same."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    now = utcnow()
    device = await tx.session.scalar(
        select(TrustedDevice).where(
            TrustedDevice.token_hash == hash_token(token),
            TrustedDevice.user_id == user.id,
            TrustedDevice.revoked_at.is_(None),
            TrustedDevice.expires_at > now,
        )
    )
    if device is not None:
        device.last_used_at = now
        await tx.session.flush()
    return device


async def list_trusted_devices(tx: Transaction, user_id: int) -> list[TrustedDevice]:
    """The user's trusted devices that still work, most recently used first."""
    rows = await tx.session.scalars(
        select(TrustedDevice)
        .where(TrustedDevice.user_id == user_id, TrustedDevice.revoked_at.is_(None), TrustedDevice.expires_at > utcnow())
        .order_by(TrustedDevice.last_used_at.desc(), TrustedDevice.id.desc())
    )
    return list(rows)


async def do_revoke_trusted_devices(tx: Transaction, user: User, which: ColumnElement[bool], *, reason: str) -> list[int]:
    """Stop the user's live trusted devices matching ``which`` skipping the second factor (one UPDATE); returns their ids."""
    ids = sorted(
        (
            await tx.session.scalars(
                update(TrustedDevice)
                .where(TrustedDevice.user_id == user.id, TrustedDevice.revoked_at.is_(None), which)
                .values(revoked_at=utcnow())
                .returning(TrustedDevice.id)
                .execution_options(synchronize_session=False)
            )
        ).all()
    )
    if ids:
        await _audit(tx, user, "account.trusted_device_revoked", ids[0] if len(ids) == 1 else None, {"ids": ids, "reason": reason})
    return ids


async def do_revoke_trusted_device(tx: Transaction, user: User, device_id: int) -> None:
    """Forget one of the user's trusted devices; another person's reads as missing."""
    if not await do_revoke_trusted_devices(tx, user, TrustedDevice.id == device_id, reason="revoked"):
        raise NotFound("no such trusted device", field="trusted_device_id")


async def do_forget_all_trusted_devices(tx: Transaction, user: User, *, reason: str) -> list[int]:
    """After the password changed or the second factor was turned off: no browser skips it any more."""
    return await do_revoke_trusted_devices(tx, user, TrustedDevice.id.is_not(None), reason=reason)
