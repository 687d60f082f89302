"""A host who loses the organisation, or the group a stream is from, loses their streams: each ends at once.

In the transaction that takes the access away (``register_revocation``): the
streams they host that have not ended are ended (rooms/live/streams.py), so the
key stops working, whichever node holds the publisher drops it after commit,
and the stream's guests are signed out. Viewers who lose the group need
nothing here: every request reads their membership again (404 at the next).
"""
from __future__ import annotations

from sqlalchemy import select

from rooms.live.streams import do_end_stream
from rooms.models import LiveStream
from server.db import Transaction
from server.revocation import AccessRevoked, register_revocation

REASON = "the host no longer has access"


async def do_end_hosts_streams(tx: Transaction, revoked: AccessRevoked) -> None:
    if revoked.scope is not None and revoked.scope[0] != "group":
        return
    which = [LiveStream.org_id == revoked.org_id, LiveStream.status != "ended", LiveStream.host_id.in_(list(revoked.user_ids))]
    if revoked.scope is not None:
        which.append(LiveStream.group_id == revoked.scope[1])
    for stream in list(await tx.session.scalars(select(LiveStream).where(*which))):
        await do_end_stream(tx, stream, REASON)


register_revocation(do_end_hosts_streams)
