"""Sign-in links: a link, or its QR code, that a capability issues to let people in (a class invitation, say).

The platform keeps the link (token, expiry, uses) and opens the session; what
the link grants is the capability's. It registers a kind once per process, as
its module is imported (like ``register_outsider``):
``register_sign_in_link("schools.family", SignInLinkKind(describe, redeem, questions=...))``.

* ``describe(tx, link, locale)``, in a transaction of the link's organisation:
  what the link is for, as the page shows it before anyone signs in.
* ``redeem(tx, link, name, answers)``, in that transaction: the account that
  signs in (found, or made with ``do_create_user``) after it was given what the
  link grants, as a ``SignInGrant`` with the page to go to. ``name`` is what the
  person typed, for a kind that ``asks_name`` (one that makes accounts);
  ``answers`` are theirs to the kind's ``questions`` (schools asks a guardian's
  relation to the child), by key, trimmed and checked against each question.
  It runs as one use of the link is spent; if it raises, nothing is spent.

The capability's own route decides who may issue one, then calls
``do_issue_sign_in_link``; it shows ``sign_in_link_url`` and draws its QR code
with ``server.qr.qr_response``. The token (32 random bytes) is shown once and
stored only as its SHA-256, like a guest invite's; it rides in the link's
fragment (``/link#<token>``), which browsers never send, so it stays out of
logs. A link is single-use (``max_uses=1``) or multi-use, always expires (at
most ``MUSTER_SIGN_IN_LINK_MAX_DAYS``) and can be withdrawn by its issuer or
an admin (``DELETE /api/v1/orgs/{org_id}/sign-in-links/{sign_in_link_id}``), or by the
capability when it issues a person a new one (``do_withdraw_sign_in_links``);
the accounts it signed in stay (they are the people's own).

The sign-in itself is a password sign-in's second half
(server/accounts/login.py): an account with TOTP still needs its code, and a
token that opens nothing counts as a failed sign-in of the caller's address.
"""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import update

from server.accounts.auth import Principal, hash_token
from server.accounts.login import SignedIn, SignInClient, do_finish_sign_in
from server.accounts.models import SignInLink, User
from server.accounts.ratelimit import Attempt, check_attempt_allowed, refuse
from server.accounts.token_links import (
    LinkTexts,
    do_new_links,
    do_spend_use,
    do_withdraw_link,
    live_link,
    usable,
)
from server.audit.record import do_audit
from server.config import Settings
from server.db import Database, Transaction, utcnow
from server.db.one_of import batch_one_of
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
class LinkQuestion:
    """Something more the link's page asks before signing in, answered in one line of text."""

    key: str  # the answer's key in ``answers``
    label: str  # an English msgid: the field's label
    max_length: int = 100
    hint: str = ""  # msgid of an example answer, shown in the empty field
    missing: str | None = None  # msgid of the error when it is left empty; None: it may be


@dataclass(frozen=True)
class SignInLinkKind:
    describe: Callable[[Transaction, SignInLink, str], Awaitable[str]]
    redeem: Callable[[Transaction, SignInLink, str | None, dict[str, str]], Awaitable[SignInGrant]]
    asks_name: bool = True
    questions: tuple[LinkQuestion, ...] = ()


def check_answers(kind: SignInLinkKind, answers: dict[str, str]) -> dict[str, str]:
    """The answers to the kind's questions, trimmed; 400 naming ``answers.<key>`` for a missing, long or unasked one."""
    asked = {q.key: q for q in kind.questions}
    for key in answers:
        if key not in asked:
            raise InvalidInput("this sign-in link asks no such question", field=f"answers.{key}")
    checked = {}
    for key, question in asked.items():
        value = (answers.get(key) or "").strip()
        if not value and question.missing:
            raise InvalidInput(question.missing, field=f"answers.{key}")
        if len(value) > question.max_length:
            raise InvalidInput("at most {max_length} characters", field=f"answers.{key}", max_length=question.max_length)
        checked[key] = value
    return checked


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
    (issued,) = await do_issue_sign_in_links(tx, org, settings, kind=kind, subject_ids=[subject_id], expires_in_s=expires_in_s, max_uses=max_uses)
    return issued


async def do_issue_sign_in_links(
    tx: Transaction, org: "OrgContext", settings: Settings, *, kind: str, subject_ids: list[int], expires_in_s: int, max_uses: int | None
) -> list[tuple[str, SignInLink]]:
    """A new link of ``kind`` to each subject (a class's children), with its token, shown only now: the links are one
    INSERT, whatever their number (each gets its audit entry)."""
    if kind not in _kinds:
        raise ValueError(f"sign-in link kind {kind!r} is not registered")
    if not 0 < expires_in_s <= settings.sign_in_link_max_days * 86400:
        raise InvalidInput("a sign-in link may stay valid at most {days} days", field="expires_in_s", days=settings.sign_in_link_max_days)
    if max_uses is not None and max_uses < 1:
        raise InvalidInput("a sign-in link needs at least one use", field="max_uses")
    issued = await do_new_links(tx, org, SignInLink, [{"kind": kind, "subject_id": s} for s in subject_ids], expires_in_s=expires_in_s,
                                max_uses=max_uses)
    for _token, link in issued:
        details = {"kind": kind, "subject_id": link.subject_id, "expires_at": link.expires_at.isoformat(), "max_uses": max_uses}
        await do_audit(tx, org.principal, "sign_in_link.created", target=("sign_in_link", link.id), details=details)
    return issued


async def do_revoke_sign_in_link(tx: Transaction, org: "OrgContext", link_id: int) -> None:
    """Withdraw a link (its issuer or an admin): nobody signs in with it any more."""
    link, withdrawn = await do_withdraw_link(tx, org, SignInLink, link_id, LINK_TEXTS, id_field="sign_in_link_id")
    if withdrawn:
        await do_audit(tx, org.principal, "sign_in_link.revoked", target=("sign_in_link", link.id))


async def do_withdraw_sign_in_links(tx: Transaction, actor: Principal, *, kind: str, subject_ids: list[int]) -> int:
    """Withdraw the links of ``kind`` to these subjects (at most a batch, 5,000) that could still be used: a capability
    issuing someone a new link withdraws their old one, whoever issued it. Returns how many."""
    now = utcnow()
    withdrawn = list(await tx.session.scalars(
        update(SignInLink)
        .where(SignInLink.kind == kind, batch_one_of(tx, SignInLink.subject_id, subject_ids), usable(SignInLink, now))
        .values(revoked_at=now)
        .returning(SignInLink.id)
        .execution_options(synchronize_session=False)
    ))
    for link_id in withdrawn:
        await do_audit(tx, actor, "sign_in_link.revoked", target=("sign_in_link", link_id))
    return len(withdrawn)


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


@dataclass(frozen=True)
class LinkPreview:
    org: Organisation
    purpose: str  # in the reader's language
    kind: SignInLinkKind


async def preview_sign_in_link(db: Database, settings: Settings, *, token: str, ip: str, locale: str) -> LinkPreview:
    """What the link is for, before anyone signs in: its organisation, its purpose, what it asks."""
    _, link = await _open(db, settings, token, ip)
    async with db.transaction(org_id=link.org_id) as tx:
        org = await tx.session.get(Organisation, link.org_id)
        kind = _kinds[link.kind]
        return LinkPreview(org, await kind.describe(tx, link, locale), kind)


async def do_sign_in_by_link(
    db: Database, settings: Settings, *, token: str, name: str | None, answers: dict[str, str], client: SignInClient
) -> tuple[SignedIn, str | None]:
    """Spend one use of the link and sign in whoever its capability says; returns the sign-in and the page to go to."""
    attempt, link = await _open(db, settings, token, client.ip)
    kind = _kinds[link.kind]
    if kind.asks_name and not (name or "").strip():
        raise InvalidInput("enter your name", field="name")
    answers = check_answers(kind, answers)
    granted: list[SignInGrant] = []

    async def account(tx: Transaction) -> User:
        live = await live_sign_in_link(tx, token)
        await do_spend_use(tx, SignInLink, live, LINK_TEXTS)
        granted.append(await _kinds[live.kind].redeem(tx, live, name, answers))
        return granted[-1].user

    signed_in = await do_finish_sign_in(db, settings, attempt, client, account, org_id=link.org_id)
    return signed_in, granted[-1].landing_url
