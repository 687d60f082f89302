"""A stream's chat: its viewers (guests too) and managers write, managers remove a message; everyone watching hears of both.

Cost of a message: the limit check (one indexed SELECT of at most
``live_chat_messages`` of the author's own rows, ``seconds_until_below``), one
INSERT, and after commit one bus message (rooms/live/room.py delivers it),
whatever the number watching. The limit is per viewer and stream and holds
across nodes, since it counts stored messages. A page that (re)connects reads
the latest messages (``chat_since``) and then hears the rest.
"""
from __future__ import annotations

from sqlalchemy import select

from rooms.config import RoomsSettings
from rooms.live.events import tell
from rooms.models import LiveChatMessage, LiveStream
from server.accounts.ratelimit import seconds_until_below
from server.db import Transaction, utcnow
from server.errors import NotFound, RateLimited
from server.orgs.access import OrgContext

SHOWN = 100  # the latest messages a page is given when it opens


def message_data(message: LiveChatMessage) -> dict:
    return {"id": message.id, "user_id": message.user_id, "name": message.name, "text": message.text,
            "at": message.created_at.isoformat()}


async def check_chat_allowed(tx: Transaction, settings: RoomsSettings, stream: LiveStream, user_id: int) -> None:
    """429 (with Retry-After) if the viewer sent ``live_chat_messages`` within ``live_chat_window_s``."""
    retry_after_s = await seconds_until_below(
        tx, LiveChatMessage.created_at, (LiveChatMessage.stream_id == stream.id) & (LiveChatMessage.user_id == user_id),
        settings.live_chat_messages, settings.live_chat_window_s, utcnow())
    if retry_after_s is not None:
        raise RateLimited("you are sending messages too fast; wait {seconds} seconds", retry_after_s=retry_after_s, seconds=retry_after_s)


async def do_post_message(tx: Transaction, settings: RoomsSettings, org: OrgContext, stream: LiveStream, text: str) -> LiveChatMessage:
    await check_chat_allowed(tx, settings, stream, org.user_id)
    message = LiveChatMessage(org_id=stream.org_id, stream_id=stream.id, user_id=org.user_id, name=org.principal.name, text=text,
                              created_at=utcnow())
    tx.session.add(message)
    await tx.session.flush()
    tell(tx, stream.id, "live.chat", message_data(message))
    return message


async def do_remove_message(tx: Transaction, org: OrgContext, stream: LiveStream, message_id: int) -> None:
    """A manager takes a message down: it is kept (who removed it, when) but no longer shown, and leaves every page now."""
    message = await tx.session.scalar(select(LiveChatMessage).where(LiveChatMessage.id == message_id, LiveChatMessage.stream_id == stream.id))
    if message is None:
        raise NotFound("no such message in this stream", field="message_id")
    if message.removed_at is None:
        message.removed_at, message.removed_by = utcnow(), org.user_id
        await tx.session.flush()
        tell(tx, stream.id, "live.chat_removed", {"id": message.id})


async def chat_since(tx: Transaction, stream: LiveStream, after_id: int = 0) -> list[LiveChatMessage]:
    """The latest ``SHOWN`` messages still shown after ``after_id``, oldest first."""
    rows = await tx.session.scalars(
        select(LiveChatMessage).where(LiveChatMessage.stream_id == stream.id, LiveChatMessage.id > after_id,
                                      LiveChatMessage.removed_at.is_(None))
        .order_by(LiveChatMessage.id.desc()).limit(SHOWN))
    return list(reversed(list(rows)))
