"""What livestreams hold about a person: what they wrote in streams' chats, when they watched which stream (live or in
replay), their raised hands, and the streams they were removed from.

Erasing deletes their chat messages, attendance, hands and removals. The
streams they hosted stay (the organisation's; their host is unknown once the
account goes), and so does the attendance of others.
"""
from __future__ import annotations

from sqlalchemy import delete, select

from rooms.models import LiveAttendance, LiveChatMessage, LiveHand, LiveRemoval, LiveStream
from server.config import Settings
from server.db import Transaction
from server.personal_data.parts import PersonalDataPart, iso

MINE = (LiveChatMessage, LiveAttendance, LiveHand, LiveRemoval)


async def export_livestreams(tx: Transaction, user_id: int) -> dict:
    messages = await tx.session.scalars(select(LiveChatMessage).where(LiveChatMessage.user_id == user_id).order_by(LiveChatMessage.id))
    watched = await tx.session.execute(
        select(LiveAttendance, LiveStream.title).join(LiveStream, LiveStream.id == LiveAttendance.stream_id)
        .where(LiveAttendance.user_id == user_id).order_by(LiveAttendance.id))
    hands = await tx.session.scalars(select(LiveHand).where(LiveHand.user_id == user_id).order_by(LiveHand.id))
    removed = await tx.session.scalars(select(LiveRemoval.stream_id).where(LiveRemoval.user_id == user_id))
    return {
        "chat": [{"stream_id": m.stream_id, "name": m.name, "text": m.text, "at": iso(m.created_at), "removed_at": iso(m.removed_at)}
                 for m in messages],
        "watched": [{"stream_id": a.stream_id, "title": title, "kind": a.kind, "joined_at": iso(a.joined_at), "left_at": iso(a.left_at)}
                    for a, title in watched],
        "hands_raised": [{"stream_id": h.stream_id, "raised_at": iso(h.raised_at)} for h in hands],
        "removed_from": sorted(removed),
    }


async def erase_livestreams(tx: Transaction, _settings: Settings, user_id: int) -> dict[str, int]:
    counts = {}
    for table, name in zip(MINE, ("chat_messages", "attendances", "hands", "removals")):
        done = await tx.session.execute(delete(table).where(table.user_id == user_id).execution_options(synchronize_session=False))
        counts[name] = done.rowcount
    return counts


PART = PersonalDataPart("livestreams", export_livestreams, erase_livestreams)
