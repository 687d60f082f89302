"""Signing in: the rate limit first, then the password, then the second factor, then a device session.

The password is verified outside any transaction: argon2 takes ~50 ms and a
connection should not wait on it.
"""
from __future__ import annotations

from sqlalchemy import func, select

from server.accounts.auth import issue_session
from server.accounts.models import DeviceSession, User
from server.accounts.passwords import verify_password
from server.accounts.ratelimit import Attempt, check_attempt_allowed, do_clear_account_failures, refuse
from server.accounts.totp import do_use_totp_code
from server.audit.record import Someone, do_audit_orgs
from server.config import Settings
from server.db import Database, Transaction
from server.errors import Unauthenticated
from server.i18n import _
from server.orgs.models import Membership

BAD_CREDENTIALS = _("wrong email or password")


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def do_login(
    db: Database,
    settings: Settings,
    *,
    email: str,
    password: str,
    totp_code: str | None,
    device_name: str,
    user_agent: str,
    ip: str,
) -> tuple[str, DeviceSession, User]:
    attempt = Attempt(email=normalise_email(email), ip=ip)
    async with db.transaction() as tx:
        await check_attempt_allowed(tx, settings, attempt)
        user = (
            await tx.session.execute(select(User).where(func.lower(User.email) == attempt.email, User.kind == "person"))
        ).scalar_one_or_none()
    if not await verify_password(user.password_hash if user else None, password):
        await refuse(db, settings, attempt, Unauthenticated(BAD_CREDENTIALS, code="bad_credentials"))
    if user.totp_enabled and not totp_code:
        # The password was right; the client asks for the code and tries again. Not a failure.
        raise Unauthenticated("enter the 6-digit code from your authenticator app", code="totp_required")
    async with db.transaction() as tx:
        user = await tx.session.get(User, user.id)
        if user is None:
            raise Unauthenticated(BAD_CREDENTIALS, code="bad_credentials")
        second_factor_ok = not user.totp_enabled or await do_use_totp_code(tx, user, totp_code)
        if second_factor_ok:
            await do_clear_account_failures(tx, attempt)
            token, device = await issue_session(
                tx, user, days=settings.session_days, device_name=device_name, user_agent=user_agent, ip=ip
            )
            await do_record_new_device(tx, user, device)
    if not second_factor_ok:
        await refuse(db, settings, attempt, Unauthenticated("this authenticator code is wrong or was already used", code="bad_totp"))
    return token, device, user


async def do_record_new_device(tx: Transaction, user: User, device: DeviceSession) -> None:
    """A sign-in from a device (name and browser) this account never used is written to each of its organisations' audit logs."""
    seen = await tx.session.scalar(
        select(DeviceSession.id)
        .where(
            DeviceSession.user_id == user.id,
            DeviceSession.id != device.id,
            DeviceSession.device_name == device.device_name,
            DeviceSession.user_agent == device.user_agent,
        )
        .limit(1)
    )
    if seen is not None:
        return
    org_ids = (await tx.session.scalars(select(Membership.org_id).where(Membership.user_id == user.id))).all()
    details = {"device_name": device.device_name, "user_agent": device.user_agent}
    await do_audit_orgs(tx, Someone(user.id, user.name), "account.new_device_sign_in", org_ids, target=("session", device.id), details=details)
