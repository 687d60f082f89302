"""Sign-in links: a link, or its QR code, that a capability issues to let people in (a class invitation, say).

The platform keeps the link (token, expiry, uses) and opens the session; what
the link grants is the capability's. It registers a kind once, in its
``setup``: ``register_sign_in_link("schools.class", SignInLinkKind(describe, redeem))``.

* ``describe(tx, link, locale)``, in a transaction of the link's organisation:
  what the link is for, as the page shows it before anyone signs in.
* ``redeem(tx, link, name)``, in that transaction: the account that signs in
  (found, or made with ``do_create_user``) after it was given what the link
  grants, as a ``SignInGrant`` with the page to go to. ``name`` is what the
  person typed, for a kind that ``asks_name`` (one that makes accounts).
  It runs as one use of the link is spent; if it raises, nothing is spent.

The capability's own route decides who may issue one, then calls
``do_issue_sign_in_link``; it shows ``sign_in_link_url`` and draws its QR code
with ``server.qr.qr_response``. The token (32 random bytes) is shown once and
stored only as its SHA-256, like a guest invite's; it rides in the link's
fragment (``/link#<token>``), which browsers never send, so it stays out of
logs. A link is single-use (``max_uses=1``) or multi-use, always expires (at
most ``MUSTER_SIGN_IN_LINK_MAX_DAYS``) and can be withdrawn by its issuer or
an admin; the accounts it signed in stay (they are the people's own).

The sign-in itself is a password sign-in's second half
(server/accounts/login.py): an account with TOTP still needs its code, and a
token that opens nothing counts as a failed sign-in of the caller's address.
"""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from server.accounts.auth import hash_token
from server.accounts.login import SignedIn, SignInClient, do_finish_sign_in
from server.accounts.models import SignInLink, User
from server.accounts.ratelimit import Attempt, check_attempt_allowed, refuse
from server.accounts.token_links import (
    LinkTexts,
    do_new_link,
    do_spend_use,
    do_withdraw_link,
    live_link,
)
from server.audit.record import do_audit
from server.config import Settings
from server.db import Database, Transaction
from server.errors import InvalidInput, NotFound
from server.i18n import _
from server.orgs.models import Organisation

if TYPE_CHECKING:
    from server.orgs.access import OrgContext

KIND = re.compile(r"^[a-z][a-z0-9_.-]{0,31}$")  # fits sign_in_links.kind, String(32)
LINK_TEXTS = LinkTexts(
    not_valid=_("this sign-in link is not valid; check that it was copied completely"),
    withdrawn=_("this sign-in link was withdrawn; ask whoever sent it for a new one"),
    expired=_("this sign-in link has expired; ask whoever sent it for a new one"),
    used_up=_("this sign-in link has been used up; ask whoever sent it for a new one"),
    no_such=_("no such sign-in link"),
    not_yours=_("only whoever issued this sign-in link or an organisation admin can withdraw it"),
)


@dataclass(frozen=True)
class SignInGrant:
    user: User
    landing_url: str | None = None  # path of the page of what the link granted; None: home


@dataclass(frozen=True)
class SignInLinkKind:
    describe: Callable[[Transaction, SignInLink, str], Awaitable[str]]
    redeem: Callable[[Transaction, SignInLink, str | None], Awaitable[SignInGrant]]
    asks_name: bool = True


_kinds: dict[str, SignInLinkKind] = {}


def register_sign_in_link(kind: str, spec: SignInLinkKind) -> None:
    if not KIND.match(kind):
        raise ValueError(f"sign-in link kind {kind!r} must be 1-32 characters of a-z, 0-9, '_', '.', '-'")
    if kind in _kinds:
        raise ValueError(f"sign-in link kind {kind!r} is already registered")
    _kinds[kind] = spec


def sign_in_link_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/link#{token}"


async def do_issue_sign_in_link(
    tx: Transaction, org: "OrgContext", settings: Settings, *, kind: str, subject_id: int, expires_in_s: int, max_uses: int | None
) -> tuple[str, SignInLink]:
    """Store a new link of ``kind`` to ``subject_id`` (whoever may issue it was checked by the capability); returns its token, shown only now."""
    if kind not in _kinds:
        raise ValueError(f"sign-in link kind {kind!r} is not registered")
    if not 0 < expires_in_s <= settings.sign_in_link_max_days * 86400:
        raise InvalidInput("a sign-in link may stay valid at most {days} days", field="expires_in_s", days=settings.sign_in_link_max_days)
    if max_uses is not None and max_uses < 1:
        raise InvalidInput("a sign-in link needs at least one use", field="max_uses")
    token, link = await do_new_link(tx, org, SignInLink, expires_in_s=expires_in_s, max_uses=max_uses, kind=kind, subject_id=subject_id)
    details = {"kind": kind, "subject_id": subject_id, "expires_at": link.expires_at.isoformat(), "max_uses": max_uses}
    await do_audit(tx, org.principal, "sign_in_link.created", target=("sign_in_link", link.id), details=details)
    return token, link


async def do_revoke_sign_in_link(tx: Transaction, org: "OrgContext", link_id: int) -> None:
    """Withdraw a link (its issuer or an admin): nobody signs in with it any more."""
    link, withdrawn = await do_withdraw_link(tx, org, SignInLink, link_id, LINK_TEXTS)
    if withdrawn:
        await do_audit(tx, org.principal, "sign_in_link.revoked", target=("sign_in_link", link.id))


async def live_sign_in_link(tx: Transaction, token: str) -> SignInLink:
    """The link a token opens, if it can still be used (and its kind is still served); else a 404 or 410 that says why."""
    link = await live_link(tx, SignInLink, token, LINK_TEXTS)
    if link.kind not in _kinds:
        raise NotFound(LINK_TEXTS.not_valid, field="token")
    return link


async def _open(db: Database, settings: Settings, token: str, ip: str) -> tuple[Attempt, SignInLink]:
    """The live link, under the sign-in rate limit: a token that opens nothing counts as a failed attempt."""
    attempt = Attempt(account=f"link:{hash_token(token)}", ip=ip)
    async with db.transaction() as tx:
        await check_attempt_allowed(tx, settings, attempt)
        try:
            return attempt, await live_sign_in_link(tx, token)
        except NotFound as e:
            error = e
    await refuse(db, settings, attempt, error)


async def preview_sign_in_link(db: Database, settings: Settings, *, token: str, ip: str, locale: str) -> tuple[Organisation, str, bool]:
    """What the link is for, before anyone signs in: its organisation, its purpose, whether it asks a name."""
    _, link = await _open(db, settings, token, ip)
    async with db.transaction(org_id=link.org_id) as tx:
        org = await tx.session.get(Organisation, link.org_id)
        kind = _kinds[link.kind]
        return org, await kind.describe(tx, link, locale), kind.asks_name


async def do_sign_in_by_link(
    db: Database, settings: Settings, *, token: str, name: str | None, client: SignInClient
) -> tuple[SignedIn, str | None]:
    """Spend one use of the link and sign in whoever its capability says; returns the sign-in and the page to go to."""
    attempt, link = await _open(db, settings, token, client.ip)
    if _kinds[link.kind].asks_name and not name:
        raise InvalidInput("enter your name", field="name")
    granted: list[SignInGrant] = []

    async def account(tx: Transaction) -> User:
        live = await live_sign_in_link(tx, token)
        await do_spend_use(tx, SignInLink, live, LINK_TEXTS)
        granted.append(await _kinds[live.kind].redeem(tx, live, name))
        return granted[-1].user

    signed_in = await do_finish_sign_in(db, settings, attempt, client, account, org_id=link.org_id)
    return signed_in, granted[-1].landing_url
