"""Telling a group's members that a stream is scheduled or live: a gateway event to all, Web Push to those away.

Cost, whatever the group's size: one SELECT of the members (the host left
out) and one ``emit`` (one statement on PostgreSQL for 10,000 recipients), in
the transaction that changed the stream, so nobody hears of a stream that
then is not there. After commit, one SELECT finds the members with a push
subscription who did not mute the group, presence keeps those with no device
connected, and the node's push worker sends them one push each, paced
(``push_per_s``), in the background: the host's request does not wait for it.
"""
from __future__ import annotations

import asyncio
import logging

from sqlalchemy import exists, select

from rooms.live.streams import watch_url
from rooms.models import LiveStream
from server.accounts.models import User
from server.channels.models import PushSubscription
from server.channels.registry import Channels, Message
from server.db import Database, Transaction
from server.gateway.events import emit
from server.gateway.presence import Presence
from server.groups.models import Group, GroupMember
from server.i18n import _, translate

log = logging.getLogger("muster.rooms.live")

STARTED, SCHEDULED = "live.started", "live.scheduled"
PUSH_TITLE = {STARTED: _("Live now: {title}"), SCHEDULED: _("Livestream scheduled: {title}")}
PUSH_BODY = {STARTED: _("{group} is live. Tap to watch."), SCHEDULED: _("{group} will go live; tap for the link.")}


async def do_tell_members(tx: Transaction, stream: LiveStream, event: str, public_url: str) -> list[int]:
    """``event`` (``live.started`` or ``live.scheduled``) with the watch link to every member but the host; returns them."""
    members = [u for u in await tx.session.scalars(select(GroupMember.user_id).where(GroupMember.group_id == stream.group_id))
               if u != stream.host_id]
    await emit(tx, members, event, {
        "org_id": stream.org_id, "stream_id": stream.id, "group_id": stream.group_id, "title": stream.title,
        "scheduled_at": stream.scheduled_at.isoformat() if stream.scheduled_at else None, "watch_url": watch_url(public_url, stream),
    })
    return members


async def do_announce(tx: Transaction, announcer: "Announcer", stream: LiveStream, event: str, public_url: str) -> None:
    """Tell the members now (in ``tx``) and push to those away once ``tx`` has committed."""
    await do_tell_members(tx, stream, event, public_url)
    org_id, stream_id = stream.org_id, stream.id

    async def push() -> None:
        announcer.push_soon(org_id, stream_id, event, public_url)

    tx.after_commit(push)


class Announcer:
    """Web Push of stream notices from this node, in the background (one task per notice)."""

    def __init__(self, db: Database, channels: Channels, presence: Presence, *, default_locale: str, push_per_s: float) -> None:
        self.db, self.channels, self.presence = db, channels, presence
        self.default_locale, self.push_per_s = default_locale, push_per_s
        self._sending: set[asyncio.Task] = set()

    def push_soon(self, org_id: int, stream_id: int, event: str, public_url: str) -> None:
        if not self.channels.push_enabled:
            return
        task = asyncio.get_running_loop().create_task(self._push(org_id, stream_id, event, public_url))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def close(self) -> None:
        await asyncio.gather(*self._sending, return_exceptions=True)

    async def _push(self, org_id: int, stream_id: int, event: str, public_url: str) -> None:
        try:
            messages = await self._messages(org_id, stream_id, event, public_url)
            if messages:
                await self.channels["push"].send_all(messages, per_s=self.push_per_s)
        except Exception:
            log.exception("pushing the notice of stream %d failed", stream_id)

    async def _messages(self, org_id: int, stream_id: int, event: str, public_url: str) -> list[Message]:
        async with self.db.transaction(org_id=org_id) as tx:
            stream = await tx.session.scalar(select(LiveStream).where(LiveStream.id == stream_id))
            if stream is None:
                return []
            group = await tx.session.scalar(select(Group.name).where(Group.id == stream.group_id))
            rows = (await tx.session.execute(
                select(GroupMember.user_id, User.locale).join(User, User.id == GroupMember.user_id)
                .where(GroupMember.group_id == stream.group_id, GroupMember.muted.is_(False), GroupMember.user_id != stream.host_id,
                       exists().where(PushSubscription.user_id == GroupMember.user_id))
            )).all()
        away = set(r.user_id for r in rows) - await self.presence.connected([r.user_id for r in rows])
        url = watch_url(public_url, stream)
        return [
            Message(user_id, translate(locale, PUSH_TITLE[event], title=stream.title), translate(locale, PUSH_BODY[event], group=group),
                    data={"type": event, "org_id": org_id, "stream_id": stream_id, "url": url, "lang": locale})
            for user_id, locale in ((r.user_id, r.locale or self.default_locale) for r in rows) if user_id in away
        ]
