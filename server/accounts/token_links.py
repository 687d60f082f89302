"""Links that carry a secret token: guest invites, sign-in links and contact links live and die the same way.

The token (32 random bytes) is shown once, when the link is made, and kept
only as its SHA-256; it rides in the link's fragment or a masked path, so it
stays out of logs. A link always expires, may be limited to a number of uses
(spent by a conditional UPDATE, so the last use goes to one person only), and
is withdrawn by whoever issued it or an organisation admin. Each kind keeps
its own table, since what it grants differs, with the same columns
(``token_hash``, ``created_by``, ``created_at``, ``expires_at``, ``max_uses``,
``uses``, ``revoked_at``); these functions are their common life, each kind
telling its refusals in its own words (``LinkTexts``).
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import and_, or_, select, update

from server.accounts.auth import hash_token
from server.db import Transaction, utcnow
from server.errors import Forbidden, Gone, NotFound

if TYPE_CHECKING:
    from server.orgs.access import OrgContext

Link = TypeVar("Link")


@dataclass(frozen=True)
class LinkTexts:
    """What a kind's refusals say (msgids, each with a Chinese translation)."""

    not_valid: str
    withdrawn: str
    expired: str
    used_up: str
    no_such: str  # withdrawing an id that is not there
    not_yours: str  # withdrawing someone else's


async def do_new_link(
    tx: Transaction, org: "OrgContext", model: type[Link], *, expires_in_s: int, max_uses: int | None, **what
) -> tuple[str, Link]:
    """Store a link of ``model`` issued by the caller, with ``what`` it grants; returns the token, shown only now.
    The caller audits it, with the details that matter for its kind."""
    (made,) = await do_new_links(tx, org, model, [what], expires_in_s=expires_in_s, max_uses=max_uses)
    return made


async def do_new_links(
    tx: Transaction, org: "OrgContext", model: type[Link], grants: list[dict], *, expires_in_s: int, max_uses: int | None
) -> list[tuple[str, Link]]:
    """``do_new_link`` for each of ``grants`` (what each link grants), flushed together: one INSERT for a class's links."""
    now = utcnow()
    made = []
    for what in grants:
        token = secrets.token_urlsafe(32)
        made.append((token, model(org_id=org.org_id, token_hash=hash_token(token), created_by=org.user_id, created_at=now,
                                  expires_at=now + dt.timedelta(seconds=expires_in_s), max_uses=max_uses, uses=0, **what)))
    tx.session.add_all([link for _, link in made])
    await tx.session.flush()
    return made


def usable(model: type[Link], now: dt.datetime):
    """The condition that a link of ``model`` can still be used: what ``live_link`` checks of one, for many at once."""
    return and_(model.revoked_at.is_(None), model.expires_at > now, or_(model.max_uses.is_(None), model.uses < model.max_uses))


async def live_link(tx: Transaction, model: type[Link], token: str, texts: LinkTexts, *, field: str = "token") -> Link:
    """The link a token opens, if it can still be used; else a 404 or 410 that says why."""
    link = await tx.session.scalar(select(model).where(model.token_hash == hash_token(token)))
    if link is None:
        raise NotFound(texts.not_valid, field=field)
    if link.revoked_at is not None:
        raise Gone(texts.withdrawn, field=field)
    if link.expires_at <= utcnow():
        raise Gone(texts.expired, field=field)
    if link.max_uses is not None and link.uses >= link.max_uses:
        raise Gone(texts.used_up, field=field, max_uses=link.max_uses)
    return link


async def do_spend_use(tx: Transaction, model: type[Link], link: Link, texts: LinkTexts, *, field: str = "token") -> None:
    """One use of the link, race-free: the conditional UPDATE fails for whoever comes after the last use (410)."""
    spent = await tx.session.execute(
        update(model)
        .where(model.id == link.id, or_(model.max_uses.is_(None), model.uses < model.max_uses))
        .values(uses=model.uses + 1)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:
        raise Gone(texts.used_up, field=field, max_uses=link.max_uses)


async def do_withdraw_link(
    tx: Transaction, org: "OrgContext", model: type[Link], link_id: int, texts: LinkTexts, *, id_field: str = "link_id"
) -> tuple[Link, bool]:
    """Withdraw a link (its issuer or an admin): nobody comes in by it any more. Returns it and whether it was live
    until now (the caller audits that)."""
    link = await tx.session.scalar(select(model).where(model.id == link_id))
    if link is None:
        raise NotFound(texts.no_such, field=id_field)
    if not (org.is_admin or link.created_by == org.user_id):
        raise Forbidden(texts.not_yours)
    if link.revoked_at is not None:
        return link, False
    link.revoked_at = utcnow()
    await tx.session.flush()
    return link, True
