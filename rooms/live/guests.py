"""The public link of a stream: a guest invite scoped to ``("live", stream id)``, for people outside the group.

The platform's guest invites do the rest (server/accounts/guests.py): the
token shown once and kept hashed, expiry, uses, withdrawal that signs out the
guests who came by it. A link is made only while the host allows outsiders;
turning that off withdraws the stream's links, and ending the stream signs its
guests out (rooms/live/streams.py).
"""
from __future__ import annotations

from sqlalchemy import select, update

from rooms.live.streams import GUEST_SCOPE_KIND, check_may_manage, check_not_ended, get_stream
from server.accounts import guests
from server.accounts.models import DeviceSession, GuestInvite
from server.db import Transaction, utcnow
from server.errors import Forbidden, NotFound
from server.revocation import do_revoke_access
from server.orgs.access import OrgContext


async def check_guest_invite(tx: Transaction, org: OrgContext, stream_id: int) -> None:
    stream = await check_may_manage(tx, org, stream_id)
    check_not_ended(stream)
    if not stream.allow_guests:
        raise Forbidden("this stream is for the group only: allow guests on it first", code="guests_not_allowed")


async def guest_landing(tx: Transaction, stream_id: int) -> str:
    """The stream's watch page."""
    return f"/live/{(await get_stream(tx, stream_id)).id}"


guests.register_guest_scope(GUEST_SCOPE_KIND, check_guest_invite, landing=guest_landing)


async def do_withdraw_public_links(tx: Transaction, stream_id: int, link_id: int | None = None) -> int:
    """Withdraw the stream's public links (or the one ``link_id``), by any of its managers, and take the guests who
    came by them out everywhere at once (``do_revoke_access``: their sessions end, their sockets close). Returns how many."""
    which = [GuestInvite.scope_kind == GUEST_SCOPE_KIND, GuestInvite.scope_id == stream_id]
    if link_id is not None:
        which.append(GuestInvite.id == link_id)
    ids = list(await tx.session.scalars(select(GuestInvite.id).where(*which)))
    if link_id is not None and not ids:
        raise NotFound("no such public link of this stream", field="public_link_id")
    if not ids:
        return 0
    await tx.session.execute(update(GuestInvite).where(GuestInvite.id.in_(ids), GuestInvite.revoked_at.is_(None))
                             .values(revoked_at=utcnow()).execution_options(synchronize_session=False))
    people = list(await tx.session.scalars(select(DeviceSession.user_id).where(DeviceSession.guest_invite_id.in_(ids)).distinct()))
    await do_revoke_access(tx, tx.org_id, people)
    return len(ids)
