"""Guests: people outside the organisation, let in by a link to one thing only.

A capability says what guests can be invited to by registering a scope kind
(``register_guest_scope("meeting", check, landing=...)``); ``check(tx, org, scope_id)``
runs inside a transaction of the inviting organisation and raises ``NotFound``
if the thing is not there, or ``Forbidden`` if the inviter may not invite to
it. ``landing(tx, scope_id)``, in a transaction of that organisation, gives the
path of the capability's page for the thing: the invite link opens ``/join``
(server/web), which joins and then sends the guest there. The platform
registers no kind itself.

Anyone with the link's token (shown once, stored only as its SHA-256) becomes a
``kind="guest"`` user with a device session pinned to that organisation and
that one thing (``GuestScope``). ``server/api.py`` keeps guests off every
``auth="user"`` endpoint and ``server/orgs/access.py`` answers 404 for every
other organisation; capabilities check ``principal.may_see(kind, id)``.

A guest session lasts ``MUSTER_GUEST_SESSION_HOURS`` from when it was
opened, never past its invite's expiry, and use does not extend it. It ends
when what let the guest in is taken away: the invite revoked, or the guest
removed from the thing (any ``server/revocation.py`` revocation naming them).
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sqlalchemy import select

from server.accounts.auth import GuestScope, issue_session
from server.accounts.devices import do_revoke_matching_sessions
from server.accounts.models import DeviceSession, GuestInvite, User
from server.accounts.token_links import (
    LinkTexts,
    do_new_link,
    do_spend_use,
    do_withdraw_link,
    live_link,
)
from server.audit.record import do_audit
from server.config import Settings
from server.db import Database, Transaction, utcnow
from server.errors import InvalidInput
from server.i18n import _
from server.revocation import AccessRevoked, do_revoke_access, register_revocation

if TYPE_CHECKING:
    from server.orgs.access import OrgContext

GuestScopeCheck = Callable[[Transaction, "OrgContext", int], Awaitable[None]]
GuestLanding = Callable[[Transaction, int], Awaitable[str]]
SCOPE_KIND = re.compile(r"^[a-z][a-z0-9_.-]{0,31}$")  # fits guest_invites.scope_kind, String(32)
INVITE_TEXTS = LinkTexts(
    not_valid=_("this invite link is not valid; check that it was copied completely"),
    withdrawn=_("this invite link was withdrawn; ask whoever sent it for a new one"),
    expired=_("this invite link has expired; ask whoever sent it for a new one"),
    used_up=_("this invite link has been used its {max_uses} times; ask whoever sent it for a new one"),
    no_such=_("no such guest invite"),
    not_yours=_("only an organisation admin or whoever created this invite can revoke it"),
)

_scope_checks: dict[str, GuestScopeCheck] = {}
_landings: dict[str, GuestLanding] = {}


def register_guest_scope(kind: str, check: GuestScopeCheck, *, landing: GuestLanding | None = None) -> None:
    """Let guests be invited to things of ``kind``; called from a capability's ``setup``."""
    if not SCOPE_KIND.match(kind):
        raise ValueError(f"guest scope kind {kind!r} must be 1-32 characters of a-z, 0-9, '_', '.', '-'")
    if kind in _scope_checks:
        raise ValueError(f"guest scope kind {kind!r} is already registered")
    _scope_checks[kind] = check
    if landing is not None:
        _landings[kind] = landing


async def guest_landing(db: Database, scope: GuestScope) -> str | None:
    """The path of the page of what the guest was invited to, or None if its kind has no page."""
    landing = _landings.get(scope.kind)
    if landing is None:
        return None
    async with db.transaction(org_id=scope.org_id) as tx:
        return await landing(tx, scope.id)


def invite_url(settings: Settings, token: str) -> str:
    """The link to share. The token rides in the fragment, which browsers never send, so it stays out of server logs."""
    return f"{settings.public_url.rstrip('/')}/join#{token}"


async def do_create_invite(
    tx: Transaction, org: "OrgContext", *, scope_kind: str, scope_id: int, expires_in_s: int, max_uses: int | None
) -> tuple[str, GuestInvite]:
    """Check the inviter may invite to that thing, then store the invite; returns its token (shown only now)."""
    check = _scope_checks.get(scope_kind)
    if check is None:
        known = ", ".join(sorted(_scope_checks)) or "none on this server"
        raise InvalidInput("guests cannot be invited to '{scope_kind}' (known kinds: {known})", field="scope_kind", scope_kind=scope_kind, known=known)
    await check(tx, org, scope_id)
    token, invite = await do_new_link(tx, org, GuestInvite, expires_in_s=expires_in_s, max_uses=max_uses, scope_kind=scope_kind, scope_id=scope_id)
    details = {"scope_kind": scope_kind, "scope_id": scope_id, "expires_at": invite.expires_at.isoformat(), "max_uses": max_uses}
    await do_audit(tx, org.principal, "guest_invite.created", target=("guest_invite", invite.id), details=details)
    return token, invite


async def do_revoke_invite(tx: Transaction, org: "OrgContext", invite_id: int) -> None:
    """Withdraw a link (its admin or its creator): the guests who came by it are out too, everywhere at once."""
    invite, withdrawn = await do_withdraw_link(tx, org, GuestInvite, invite_id, INVITE_TEXTS, id_field="invite_id")
    if withdrawn:
        await do_audit(tx, org.principal, "guest_invite.revoked", target=("guest_invite", invite.id))
    guests = await tx.session.scalars(select(DeviceSession.user_id).where(DeviceSession.guest_invite_id == invite.id).distinct())
    await do_revoke_access(tx, invite.org_id, list(guests))


async def _end_guest_sessions(tx: Transaction, revoked: AccessRevoked) -> None:
    """A guest exists for what invited them: losing it (or the whole organisation) signs them out, sockets included."""
    which = DeviceSession.user_id.in_(revoked.user_ids) & (DeviceSession.guest_org_id == revoked.org_id)
    if revoked.scope is not None:
        which &= (DeviceSession.guest_scope_kind == revoked.scope[0]) & (DeviceSession.guest_scope_id == revoked.scope[1])
    await do_revoke_matching_sessions(tx, which)


register_revocation(_end_guest_sessions)


def guest_session_ends(settings: Settings, invite: GuestInvite | None = None) -> dt.datetime:
    """When a guest session opened now ends: a fixed time after opening, and no later than its invite."""
    ends = utcnow() + dt.timedelta(hours=settings.guest_session_hours)
    return min(ends, invite.expires_at) if invite is not None else ends


async def do_join_as_guest(
    tx: Transaction, settings: Settings, *, invite_token: str, display_name: str, user_agent: str, ip: str
) -> tuple[str, DeviceSession, User, GuestScope]:
    """Spend one use of the invite and open a guest session scoped to what it invites to."""
    invite = await live_link(tx, GuestInvite, invite_token, INVITE_TEXTS, field="invite_token")
    await do_spend_use(tx, GuestInvite, invite, INVITE_TEXTS, field="invite_token")
    user = User(kind="guest", name=display_name, email=None, password_hash=None)
    tx.session.add(user)
    await tx.session.flush()
    scope = GuestScope(org_id=invite.org_id, kind=invite.scope_kind, id=invite.scope_id)
    token, device = await issue_session(
        tx, user, days=settings.session_days, user_agent=user_agent, ip=ip, guest=scope,
        guest_invite_id=invite.id, expires_at=guest_session_ends(settings, invite),
    )
    return token, device, user, scope


async def do_open_guest_session(
    tx: Transaction, settings: Settings, *, scope: GuestScope, display_name: str, user_agent: str, ip: str
) -> tuple[str, DeviceSession, User]:
    """A guest session for a capability that checked the way in itself (a meeting link and its passcode)."""
    if scope.kind not in _scope_checks:
        raise ValueError(f"guest scope kind {scope.kind!r} is not registered")
    user = User(kind="guest", name=display_name, email=None, password_hash=None)
    tx.session.add(user)
    await tx.session.flush()
    token, device = await issue_session(
        tx, user, days=settings.session_days, user_agent=user_agent, ip=ip, guest=scope, expires_at=guest_session_ends(settings)
    )
    return token, device, user
