"""A manager removes a viewer from a stream: at once and everywhere, through the platform's revocation.

``do_remove_viewer`` stores the removal (``live_removals``: from now on the
stream is 404 to them, in the API, WHEP and the device socket alike), lowers
their hand, and revokes their access to the stream (``do_revoke_access`` with
the scope ``("live", id)``) in the same transaction. After commit every node
drops their WHEP sessions of the stream (``StreamIngest.drop_viewers``) and
their sockets' watching of it (``StreamRooms.drop``, which tells them
``live.removed``); a guest of that stream is signed out altogether (their
session was for it only: server/accounts/guests.py ends it, their sockets
close). The stream's managers cannot be removed.
"""
from __future__ import annotations

from sqlalchemy import select

from rooms.live import streams as s
from rooms.live.hands import do_lower_hand
from rooms.models import LiveRemoval, LiveStream
from server.accounts.models import DeviceSession
from server.db import Transaction, utcnow
from server.errors import InvalidInput, NotFound
from server.orgs.access import OrgContext
from server.revocation import do_revoke_access


async def check_removable(tx: Transaction, stream: LiveStream, user_id: int) -> None:
    """404 for someone who could not watch this stream anyway; 400 for one of its managers."""
    role = await s.group_role(tx, stream.group_id, user_id)
    guest = await tx.session.scalar(select(DeviceSession.id).where(
        DeviceSession.user_id == user_id, DeviceSession.guest_org_id == stream.org_id,
        DeviceSession.guest_scope_kind == s.GUEST_SCOPE_KIND, DeviceSession.guest_scope_id == stream.id).limit(1))
    if role is None and guest is None:
        raise NotFound("no such viewer of this stream", field="user_id")
    if user_id == stream.host_id or role in s.MANAGERS:
        raise InvalidInput("the stream's host and the group's owners and admins cannot be removed from it", field="user_id")


async def do_remove_viewer(tx: Transaction, org: OrgContext, stream: LiveStream, user_id: int) -> None:
    await check_removable(tx, stream, user_id)
    if await tx.session.scalar(select(LiveRemoval.id).where(LiveRemoval.stream_id == stream.id, LiveRemoval.user_id == user_id)) is None:
        tx.session.add(LiveRemoval(org_id=stream.org_id, stream_id=stream.id, user_id=user_id, removed_by=org.user_id, removed_at=utcnow()))
        await tx.session.flush()
    await do_lower_hand(tx, stream, user_id)
    await do_revoke_access(tx, stream.org_id, [user_id], (s.GUEST_SCOPE_KIND, stream.id))
