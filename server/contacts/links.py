"""Contact links: what a staff member shares (as a link or its QR code) to be added as someone's contact.

The token is 32 random bytes, shown once when the link is made and stored
only as its SHA-256 (like guest invites, server/accounts/guests.py). A link
is one-time (``max_uses`` 1, the default) or multi-use, and always expires
(at most ``MUSTER_CONTACT_LINK_MAX_DAYS``). The QR code is drawn from the
token on request by whoever holds it (the page that just made the link), so
the server never needs to keep the token.
"""
from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import or_, select, update

from server.accounts.auth import hash_token
from server.audit.record import do_audit
from server.config import Settings
from server.contacts.models import ContactLink
from server.db import Transaction, utcnow
from server.errors import Forbidden, Gone, InvalidInput, NotFound
from server.orgs.access import OrgContext


def contact_url(settings: Settings, token: str) -> str:
    """The link to share; ``/c/{link_token}`` is masked in the request log (server/observability.py)."""
    return f"{settings.public_url.rstrip('/')}/c/{token}"


async def do_create_link(
    tx: Transaction, org: OrgContext, settings: Settings, *, expires_in_s: int, max_uses: int | None
) -> tuple[str, ContactLink]:
    if expires_in_s > settings.contact_link_max_days * 86400:
        raise InvalidInput("a contact link may stay valid at most {days} days", field="expires_in_s", days=settings.contact_link_max_days)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    link = ContactLink(
        org_id=org.org_id, token_hash=hash_token(token), created_by=org.user_id, created_at=now,
        expires_at=now + dt.timedelta(seconds=expires_in_s), max_uses=max_uses, uses=0,
    )
    tx.session.add(link)
    await tx.session.flush()
    await do_audit(tx, org.principal, "contact_link.created", target=("contact_link", link.id), details={"max_uses": max_uses})
    return token, link


async def my_live_links(tx: Transaction, org: OrgContext) -> list[ContactLink]:
    return list(
        await tx.session.scalars(
            select(ContactLink)
            .where(
                ContactLink.created_by == org.user_id,
                ContactLink.revoked_at.is_(None),
                ContactLink.expires_at > utcnow(),
                or_(ContactLink.max_uses.is_(None), ContactLink.uses < ContactLink.max_uses),
            )
            .order_by(ContactLink.id.desc())
        )
    )


async def do_revoke_link(tx: Transaction, org: OrgContext, link_id: int) -> None:
    """Withdraw a link (its creator or an admin). Contacts who came by it stay."""
    link = await tx.session.scalar(select(ContactLink).where(ContactLink.id == link_id))
    if link is None:
        raise NotFound("no such contact link")
    if not (org.is_admin or link.created_by == org.user_id):
        raise Forbidden("only whoever made this contact link or an organisation admin can withdraw it")
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        await tx.session.flush()
        await do_audit(tx, org.principal, "contact_link.revoked", target=("contact_link", link.id))


async def live_link(tx: Transaction, token: str) -> ContactLink:
    """The link a token opens, if it can still be used; else a 404 or 410 that says why."""
    link = await tx.session.scalar(select(ContactLink).where(ContactLink.token_hash == hash_token(token)))
    if link is None:
        raise NotFound("this contact link is not valid; check that it was copied completely", field="token")
    if link.revoked_at is not None:
        raise Gone("this contact link was withdrawn; ask whoever sent it for a new one", field="token")
    if link.expires_at <= utcnow():
        raise Gone("this contact link has expired; ask whoever sent it for a new one", field="token")
    if link.max_uses is not None and link.uses >= link.max_uses:
        raise Gone("this contact link has been used up; ask whoever sent it for a new one", field="token")
    return link


async def do_spend_use(tx: Transaction, link: ContactLink) -> None:
    """One use of the link, race-free: the conditional UPDATE fails for whoever comes after the last use."""
    spent = await tx.session.execute(
        update(ContactLink)
        .where(ContactLink.id == link.id, or_(ContactLink.max_uses.is_(None), ContactLink.uses < ContactLink.max_uses))
        .values(uses=ContactLink.uses + 1)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:
        raise Gone("this contact link has been used up; ask whoever sent it for a new one", field="token")


async def check_own_link(tx: Transaction, org: OrgContext, token: str) -> ContactLink:
    """The caller's own live link (or, for an admin, any of the organisation's): what a QR code may be drawn for."""
    link = await live_link(tx, token)
    if link.org_id != org.org_id or not (org.is_admin or link.created_by == org.user_id):
        raise NotFound("this contact link is not valid; check that it was copied completely", field="token")
    return link
