"""Who is calling: bearer tokens of device sessions, resolved once per request by a middleware.

A token is ``mst_`` + 32 random bytes; only its SHA-256 is stored, so a copy of
the database holds no usable token.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import bindparam, select, update

from server.accounts.models import DeviceSession, User
from server.appkeys import DB, PRINCIPAL
from server.db import Database, Transaction, utcnow

TOKEN_PREFIX = "mst_"
_TOUCH_EVERY = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class GuestScope:
    org_id: int
    kind: str  # what the guest was invited to: "meeting", "group", ...
    id: int


@dataclass(frozen=True)
class Principal:
    user_id: int
    session_id: int
    name: str
    guest: GuestScope | None = None
    locale: str | None = None  # the person's chosen language (users.locale); None: their browser's
    ends_at: dt.datetime | None = None  # a guest session's fixed end (use does not extend it); None for people

    @property
    def is_guest(self) -> bool:
        return self.guest is not None

    def may_see(self, kind: str, id: int) -> bool:
        """A guest sees only what invited them; people are checked by their organisation."""
        return self.guest is None or (self.guest.kind == kind and self.guest.id == id)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_session(
    tx: Transaction,
    user: User,
    *,
    days: int,
    device_name: str = "",
    user_agent: str = "",
    ip: str = "",
    guest: GuestScope | None = None,
    guest_invite_id: int | None = None,
    expires_at: dt.datetime | None = None,
) -> tuple[str, DeviceSession]:
    """A new session; it ends after ``days`` without use, or at ``expires_at`` if given (then use does not extend it)."""
    token = new_token()
    now = utcnow()
    device = DeviceSession(
        user_id=user.id,
        token_hash=hash_token(token),
        device_name=device_name[:200],
        user_agent=user_agent[:400],
        ip=ip[:64],
        guest_org_id=guest.org_id if guest else None,
        guest_scope_kind=guest.kind if guest else None,
        guest_scope_id=guest.id if guest else None,
        guest_invite_id=guest_invite_id,
        created_at=now,
        last_seen_at=now,
        expires_at=expires_at or now + dt.timedelta(days=days),
    )
    tx.session.add(device)
    await tx.session.flush()
    return token, device


_sessions, _users = DeviceSession.__table__, User.__table__
# Prebuilt Core statements (compiled once, cached by SQLAlchemy): every request runs them.
_SESSION_OF_TOKEN = (
    select(_sessions.c.id, _sessions.c.user_id, _sessions.c.created_at, _sessions.c.last_seen_at, _sessions.c.expires_at, _sessions.c.revoked_at,
           _sessions.c.guest_org_id, _sessions.c.guest_scope_kind, _sessions.c.guest_scope_id, _users.c.name, _users.c.locale)
    .join(_users, _users.c.id == _sessions.c.user_id)
    .where(_sessions.c.token_hash == bindparam("token_hash"))
)
_TOUCH = update(_sessions).where(_sessions.c.id == bindparam("session_id"))


async def authenticate(db: Database, token: str, *, session_days: int, session_max_days: int) -> Principal | None:
    """The principal for a bearer token, or None if it is unknown, revoked or expired (``authenticate_in``, a transaction of its own)."""
    if not _well_formed(token):
        return None
    async with db.transaction() as tx:
        return await authenticate_in(tx, token, session_days=session_days, session_max_days=session_max_days)


def _well_formed(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX) and len(token) <= 100


async def authenticate_in(tx: Transaction, token: str, *, session_days: int, session_max_days: int) -> Principal | None:
    """``authenticate`` in a transaction the caller opened (a request's only one: server/api.py's ``one_transaction``; a device's
    hello, which reads its stream position in the same one: server/gateway/websocket.py).

    Sliding expiry: use pushes ``expires_at`` forward, written at most every few minutes,
    but never past ``session_max_days`` after sign-in, so a stolen token kept busy still ends.
    Not for guests: a guest session ends when it was set to (server/accounts/guests.py), however much it is used.
    """
    if not _well_formed(token):
        return None
    device = (await tx.run(_SESSION_OF_TOKEN, {"token_hash": hash_token(token)})).first()
    if device is None:
        return None
    now = utcnow()
    end_of_life = device.created_at + dt.timedelta(days=session_max_days)
    if device.revoked_at is not None or device.expires_at <= now or end_of_life <= now:
        return None
    if now - device.last_seen_at > _TOUCH_EVERY:
        end = min(now + dt.timedelta(days=session_days), end_of_life)
        slide = {} if device.guest_org_id is not None else {"expires_at": end}
        await tx.run(_TOUCH.values(last_seen_at=now, **slide), {"session_id": device.id})
    if device.guest_org_id is None:
        return Principal(user_id=device.user_id, session_id=device.id, name=device.name, locale=device.locale)
    guest = GuestScope(device.guest_org_id, device.guest_scope_kind, device.guest_scope_id)
    return Principal(user_id=device.user_id, session_id=device.id, name=device.name, locale=device.locale, guest=guest,
                     ends_at=device.expires_at)


def own_bearer_token(handler):
    """Mark a handler whose bearer token is its own credential (the /metrics token), not a device session's."""
    handler.__muster_own_bearer__ = True
    return handler


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token else None


@web.middleware
async def auth_middleware(request: web.Request, handler):
    from server.appkeys import SETTINGS
    from server.errors import Unauthenticated

    token = bearer_token(request)
    principal = None
    handler_of_route = request.match_info.handler
    if token is not None and not getattr(handler_of_route, "__muster_own_bearer__", False) \
            and not getattr(handler_of_route, "__muster_authenticates_in_transaction__", False):
        settings = request.app[SETTINGS]
        principal = await authenticate(
            request.app[DB], token, session_days=settings.session_days, session_max_days=settings.session_max_days
        )
        if principal is None:
            raise Unauthenticated("this session has expired or was signed out; sign in again", code="session_invalid")
    request[PRINCIPAL] = principal
    return await handler(request)
