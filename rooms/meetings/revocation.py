"""People who lose an organisation leave its meetings at once, media included.

The platform publishes every revocation on the bus (server/revocation.py).
Each node looks only at the meetings it hosts (a live meeting and its media
belong to one node) and takes those people's seats out the way a host's
``meeting.remove`` does: the person is told ``meeting.removed``, everyone
else ``meeting.participant_left``, the SFU drops their media, and a ticket
they still hold does not bring them back while the meeting lives here.

Guests whose invite is revoked are signed out too, so their sockets close
and their seats go with them (``LiveMeetings.disconnected``); a seat is
taken out here as well, in case the bus message comes first.
"""
from __future__ import annotations

from aiohttp import web

from rooms.keys import LIVE_MEETINGS
from rooms.meetings.live import LiveMeetings
from server.revocation import AccessRevoked, on_access_revoked

REASON = "removed from the organisation"


async def remove_seats(meetings: LiveMeetings, revoked: AccessRevoked) -> None:
    if revoked.scope is not None:  # one group's, or another thing's: meetings belong to the organisation
        return
    people = set(revoked.user_ids)
    for live in [live for live in meetings.meetings.values() if live.org_id == revoked.org_id]:
        live.removed.update(people)
        for seat in [seat for seat in live.seats.values() if seat.user_id in people]:
            live.send([seat], {"type": "meeting.removed", "by": None, "reason": REASON})
            await meetings._drop(live, seat, reason=REASON)  # the path of the host's meeting.remove


def attach(app: web.Application) -> None:
    on_access_revoked(app, lambda revoked: remove_seats(app[LIVE_MEETINGS], revoked))
