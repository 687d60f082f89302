"""Signing in: the rate limit first, then the password, then the second factor, then a device session.

The second factor and the session (``do_finish_sign_in``) are the same whatever
the first factor was: a password here, a code sent by SMS
(server/accounts/phone_sign_in.py) or a sign-in link (sign_in_links.py).

The password is verified outside any transaction: argon2 takes ~50 ms and a
connection should not wait on it. The second factor is a code from the
authenticator app, or the token of a device the person chose to remember
(server/accounts/trusted_devices.py), which can stand in for the code only:
the password is always asked.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from server.accounts.auth import issue_session
from server.accounts.models import DeviceSession, TrustedDevice, User
from server.accounts.notices import NEW_DEVICE, do_notify_account
from server.accounts.passwords import verify_password
from server.accounts.ratelimit import Attempt, check_attempt_allowed, do_clear_account_failures, refuse
from server.accounts.totp import do_use_totp_code
from server.accounts.trusted_devices import do_trust_device, do_use_trusted_device
from server.audit.record import Someone, do_audit_orgs
from server.config import Settings
from server.db import Database, Transaction
from server.errors import Unauthenticated
from server.i18n import _
from server.orgs.models import Membership

BAD_CREDENTIALS = _("wrong email or password")
TOTP_REQUIRED = _("enter the 6-digit code from your authenticator app")


@dataclass(frozen=True)
class SignedIn:
    token: str
    device: DeviceSession
    user: User
    trusted_device: TrustedDevice | None  # the remembered device that stood in for the code, or was remembered now
    trusted_device_token: str | None  # only when remembered now: its one copy


@dataclass(frozen=True)
class SignInClient:
    """The device signing in (how its session is named) and the second factor it brings, whatever the first was."""

    device_name: str
    user_agent: str
    ip: str
    totp_code: str | None = None
    trusted_device_token: str | None = None
    remember_device: bool = False


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def do_login(db: Database, settings: Settings, *, email: str, password: str, client: SignInClient) -> SignedIn:
    attempt = Attempt(account=normalise_email(email), ip=client.ip)
    async with db.transaction() as tx:
        await check_attempt_allowed(tx, settings, attempt)
        user = (
            await tx.session.execute(select(User).where(func.lower(User.email) == attempt.account, User.kind == "person"))
        ).scalar_one_or_none()
    if not await verify_password(user.password_hash if user else None, password):
        await refuse(db, settings, attempt, Unauthenticated(BAD_CREDENTIALS, code="bad_credentials"))
    user_id = user.id

    async def account(tx: Transaction) -> User:
        found = await tx.session.get(User, user_id)
        if found is None:
            raise Unauthenticated(BAD_CREDENTIALS, code="bad_credentials")
        return found

    return await do_finish_sign_in(db, settings, attempt, client, account)


async def do_finish_sign_in(
    db: Database,
    settings: Settings,
    attempt: Attempt,
    client: SignInClient,
    account: Callable[[Transaction], Awaitable[User]],
    *,
    org_id: int | None = None,
) -> SignedIn:
    """After the first factor was checked: the second (if the account has one), then a device session.

    ``account(tx)`` gives the account, in a transaction of ``org_id`` if given,
    and spends there whatever proved the first factor (a one-time code, a use
    of a link), so it is spent only if the second factor passes too: asked for
    the code (``totp_required``, not a failure) or given a wrong one, nothing is
    spent and the client tries again. The session, and the notice of a new
    device to each of the person's organisations, are written next.
    """
    bad_totp = Unauthenticated("this authenticator code is wrong or was already used", code="bad_totp")
    try:
        async with db.transaction(org_id=org_id) as tx:
            user = await account(tx)
            trusted_device = None
            if user.totp_enabled and not client.totp_code:
                trusted_device = await do_use_trusted_device(tx, user, client.trusted_device_token)
                if trusted_device is None:  # none sent, or one that no longer is (revoked, expired, another account's)
                    raise Unauthenticated(TOTP_REQUIRED, code="totp_required")
            elif user.totp_enabled and not await do_use_totp_code(tx, user, client.totp_code):
                raise bad_totp
    except Unauthenticated as e:
        if e is bad_totp:
            await refuse(db, settings, attempt, e)
        raise
    new_trust_token = None
    async with db.transaction() as tx:
        await do_clear_account_failures(tx, attempt)
        token, device = await issue_session(
            tx, user, days=settings.session_days, device_name=client.device_name, user_agent=client.user_agent, ip=client.ip
        )
        if trusted_device is None:  # a remembered device is a known one
            await do_record_new_device(tx, user, device)
            if client.remember_device and user.totp_enabled:
                new_trust_token, trusted_device = await do_trust_device(
                    tx, user, days=settings.trusted_device_days, device_name=client.device_name, user_agent=client.user_agent
                )
    return SignedIn(token, device, user, trusted_device, new_trust_token)


async def do_record_new_device(tx: Transaction, user: User, device: DeviceSession) -> None:
    """A sign-in from a device (name and browser) this account never used: written to each of its organisations'
    audit logs and, unless it is the account's first sign-in ever, told to the person (server/accounts/notices.py)."""
    others = select(DeviceSession.id).where(DeviceSession.user_id == user.id, DeviceSession.id != device.id).limit(1)
    same = others.where(DeviceSession.device_name == device.device_name, DeviceSession.user_agent == device.user_agent)
    if await tx.session.scalar(same) is not None:
        return
    org_ids = (await tx.session.scalars(select(Membership.org_id).where(Membership.user_id == user.id))).all()
    details = {"device_name": device.device_name, "user_agent": device.user_agent}
    await do_audit_orgs(tx, Someone(user.id, user.name), "account.new_device_sign_in", org_ids, target=("session", device.id), details=details)
    if await tx.session.scalar(others) is not None:
        await do_notify_account(tx, user.id, NEW_DEVICE, details | {"ip": device.ip, "session_id": device.id})
