"""Changing how a person signs in (password, second factor), only after they prove it is them again.

A stolen session must not be enough to take the account over, so these changes
ask for the current password in the same request (and, to remove a second
factor, a current code from it too), and the answer is rate-limited like a
sign-in: same counters, checked before verifying, a wrong answer counts.
Without this, whoever holds a session could enrol their own authenticator and
lock the owner out, or remove the owner's second factor.
"""
from __future__ import annotations

from sqlalchemy import update

from server.accounts.devices import do_revoke_other_sessions
from server.accounts.models import User
from server.accounts.passwords import hash_password, verify_password
from server.accounts.ratelimit import Attempt, check_attempt_allowed, refuse
from server.accounts.trusted_devices import do_forget_all_trusted_devices
from server.accounts.totp import TotpEnrolment, do_begin_totp, do_disable_totp, do_use_totp_code
from server.config import Settings
from server.db import Database
from server.errors import Conflict, Forbidden, InvalidInput, NotFound


async def _start_attempt(db: Database, settings: Settings, user_id: int, ip: str) -> tuple[User, Attempt]:
    async with db.transaction() as tx:
        user = await tx.session.get(User, user_id)
        if user is None:
            raise NotFound("no such user")
        attempt = Attempt(account=user.email or f"user-{user.id}", ip=ip)
        await check_attempt_allowed(tx, settings, attempt)
    return user, attempt


async def check_password_again(db: Database, settings: Settings, user_id: int, ip: str, password: str, *, field: str) -> None:
    user, attempt = await _start_attempt(db, settings, user_id, ip)
    if not await verify_password(user.password_hash, password):
        await refuse(db, settings, attempt, Forbidden("the password is wrong", field=field, code="wrong_password"))


async def check_totp_code_again(db: Database, settings: Settings, user_id: int, ip: str, code: str) -> None:
    _, attempt = await _start_attempt(db, settings, user_id, ip)
    async with db.transaction() as tx:
        accepted = await do_use_totp_code(tx, await tx.session.get(User, user_id), code)
    if not accepted:
        await refuse(db, settings, attempt, Forbidden("this authenticator code is wrong or was already used", field="code", code="bad_totp"))


async def change_password(
    db: Database, settings: Settings, *, user_id: int, session_id: int, ip: str, current_password: str, new_password: str
) -> list[int]:
    """Set a new password, sign out every other device and forget the remembered ones; returns the revoked session ids."""
    await check_password_again(db, settings, user_id, ip, current_password, field="current_password")
    new_hash = await hash_password(new_password)
    async with db.transaction() as tx:
        await tx.session.execute(update(User).where(User.id == user_id).values(password_hash=new_hash))
        await do_forget_all_trusted_devices(tx, await tx.session.get(User, user_id), reason="password_changed")
        return await do_revoke_other_sessions(tx, user_id, keep_session_id=session_id)


async def begin_totp(db: Database, settings: Settings, *, user_id: int, ip: str, password: str) -> TotpEnrolment:
    """Start two-factor enrolment, proven by the password: the new secret is shown only to the account's owner."""
    await check_password_again(db, settings, user_id, ip, password, field="password")
    async with db.transaction() as tx:
        return await do_begin_totp(tx, await tx.session.get(User, user_id))


async def disable_totp(db: Database, settings: Settings, *, user_id: int, ip: str, password: str, code: str | None) -> None:
    """Turn two-factor sign-in off, proven by the password and a current code (an unconfirmed enrolment: the password)."""
    async with db.transaction() as tx:
        user = await tx.session.get(User, user_id)
        if user.totp_secret is None:
            raise Conflict("two-factor sign-in is not on")
        enabled = user.totp_enabled
    if enabled and code is None:
        raise InvalidInput("send a current code from the authenticator app as well as the password", field="code")
    await check_password_again(db, settings, user_id, ip, password, field="password")
    if enabled:
        await check_totp_code_again(db, settings, user_id, ip, code)
    async with db.transaction() as tx:
        user = await tx.session.get(User, user_id)
        await do_disable_totp(tx, user)
        await do_forget_all_trusted_devices(tx, user, reason="second_factor_off")
