"""Contact links: what a staff member shares (as a link or its QR code) to be added as someone's contact.

The token is 32 random bytes, shown once when the link is made and stored
only as its SHA-256 (like guest invites, server/accounts/guests.py). A link
is one-time (``max_uses`` 1, the default) or multi-use, and always expires
(at most ``MUSTER_CONTACT_LINK_MAX_DAYS``). The QR code is drawn from the
token on request by whoever holds it (the page that just made the link), so
the server never needs to keep the token.
"""
from __future__ import annotations

from sqlalchemy import or_, select

from server.accounts.token_links import (
    LinkTexts,
    do_new_link,
    do_spend_use,
    do_withdraw_link,
    live_link,
)
from server.audit.record import do_audit
from server.config import Settings
from server.contacts.models import ContactLink
from server.db import Transaction, utcnow
from server.errors import InvalidInput, NotFound
from server.i18n import _
from server.orgs.access import OrgContext

LINK_TEXTS = LinkTexts(
    not_valid=_("this contact link is not valid; check that it was copied completely"),
    withdrawn=_("this contact link was withdrawn; ask whoever sent it for a new one"),
    expired=_("this contact link has expired; ask whoever sent it for a new one"),
    used_up=_("this contact link has been used up; ask whoever sent it for a new one"),
    no_such=_("no such contact link"),
    not_yours=_("only whoever made this contact link or an organisation admin can withdraw it"),
)


def contact_url(settings: Settings, token: str) -> str:
    """The link to share; ``/c/{link_token}`` is masked in the request log (server/observability.py)."""
    return f"{settings.public_url.rstrip('/')}/c/{token}"


async def do_create_link(
    tx: Transaction, org: OrgContext, settings: Settings, *, expires_in_s: int, max_uses: int | None
) -> tuple[str, ContactLink]:
    if expires_in_s > settings.contact_link_max_days * 86400:
        raise InvalidInput("a contact link may stay valid at most {days} days", field="expires_in_s", days=settings.contact_link_max_days)
    token, link = await do_new_link(tx, org, ContactLink, expires_in_s=expires_in_s, max_uses=max_uses)
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
    link, withdrawn = await do_withdraw_link(tx, org, ContactLink, link_id, LINK_TEXTS)
    if withdrawn:
        await do_audit(tx, org.principal, "contact_link.revoked", target=("contact_link", link.id))


async def live_contact_link(tx: Transaction, token: str) -> ContactLink:
    return await live_link(tx, ContactLink, token, LINK_TEXTS)


async def do_spend_contact_link(tx: Transaction, link: ContactLink) -> None:
    await do_spend_use(tx, ContactLink, link, LINK_TEXTS)


async def check_own_link(tx: Transaction, org: OrgContext, token: str) -> ContactLink:
    """The caller's own live link (or, for an admin, any of the organisation's): what a QR code may be drawn for."""
    link = await live_contact_link(tx, token)
    if link.org_id != org.org_id or not (org.is_admin or link.created_by == org.user_id):
        raise NotFound(LINK_TEXTS.not_valid, field="token")
    return link
