"""What groups hold about a person: memberships, messages sent, reactions, announcements opened, where they were mentioned.

Erasing recalls every message the person sent (content, mentions and file go;
the number stays, as for a recall) with one change number each, so devices
syncing by change number see it; one frame per erased message tells the
connected ones. Their memberships go with their organisation membership.
"""
from __future__ import annotations

from sqlalchemy import delete, select, update

from server.config import Settings
from server.db import Transaction, utcnow
from server.groups.direct import peer_names
from server.groups.events import publish_to_group
from server.groups.messages import messages_out
from server.groups.models import AnnouncementOpen, Group, GroupMember, GroupMention, GroupMessage, GroupReaction
from server.personal_data.parts import PersonalDataPart


async def export_groups(tx: Transaction, user_id: int) -> dict:
    memberships = (
        await tx.session.execute(
            select(Group.id, Group.name, Group.direct_key, GroupMember.role, GroupMember.joined_at, GroupMember.read_seq)
            .join(GroupMember, GroupMember.group_id == Group.id)
            .where(GroupMember.user_id == user_id)
            .order_by(Group.id)
        )
    ).all()
    peers = await peer_names(tx, tx.org_id, [(m.id, m.direct_key) for m in memberships], [user_id])  # a direct chat: with whom
    messages = await tx.session.scalars(
        select(GroupMessage).where(GroupMessage.sender_id == user_id).order_by(GroupMessage.group_id, GroupMessage.seq)
    )
    reactions = await tx.session.execute(
        select(GroupReaction.group_id, GroupReaction.seq, GroupReaction.emoji).where(GroupReaction.user_id == user_id)
    )
    opens = await tx.session.execute(
        select(AnnouncementOpen.group_id, AnnouncementOpen.seq, AnnouncementOpen.opened_at).where(AnnouncementOpen.user_id == user_id)
    )
    return {
        "memberships": [
            {"group_id": g, "name": peers.get((g, user_id), (None, name))[1], "role": role, "joined_at": joined.isoformat(), "read_seq": read}
            for g, name, _key, role, joined, read in memberships
        ],
        "messages": [
            {"group_id": m.group_id, "seq": m.seq, "kind": m.kind, "body": m.body, "file_id": m.file_id,
             "created_at": m.created_at.isoformat(), "edited_at": m.edited_at and m.edited_at.isoformat(),
             "recalled_at": m.recalled_at and m.recalled_at.isoformat()}
            for m in messages
        ],
        "reactions": [{"group_id": g, "seq": s, "emoji": e} for g, s, e in reactions],
        "announcements_opened": [{"group_id": g, "seq": s, "opened_at": at.isoformat()} for g, s, at in opens],
    }


async def erase_groups(tx: Transaction, _settings: Settings, user_id: int) -> dict[str, int]:
    sent = list(
        await tx.session.scalars(
            select(GroupMessage)
            .where(GroupMessage.sender_id == user_id, GroupMessage.recalled_at.is_(None))
            .order_by(GroupMessage.group_id, GroupMessage.seq)
        )
    )
    now = utcnow()
    for group_id in sorted({m.group_id for m in sent}):
        mine = [m for m in sent if m.group_id == group_id]
        # One UPDATE takes as many change numbers as messages; the group row stays locked until commit.
        last = await tx.session.scalar(
            update(Group)
            .where(Group.id == group_id)
            .values(last_change_seq=Group.last_change_seq + len(mine))
            .returning(Group.last_change_seq)
            .execution_options(synchronize_session=False)
        )
        for offset, message in enumerate(mine, start=last - len(mine) + 1):
            message.change_seq = offset
            message.body, message.mentions, message.mention_all, message.file_id, message.recalled_at = "", [], False, None, now
        for table in (GroupReaction, GroupMention):  # as for a recall, a message that is gone keeps nobody's reactions or mentions
            await tx.session.execute(
                delete(table).where(table.group_id == group_id, table.seq.in_([m.seq for m in mine])).execution_options(synchronize_session=False)
            )
    await tx.session.flush()
    reactions = await tx.session.execute(
        delete(GroupReaction).where(GroupReaction.user_id == user_id).execution_options(synchronize_session=False)
    )
    await tx.session.execute(delete(GroupMention).where(GroupMention.user_id == user_id).execution_options(synchronize_session=False))
    opens = await tx.session.execute(
        delete(AnnouncementOpen).where(AnnouncementOpen.user_id == user_id).execution_options(synchronize_session=False)
    )
    for out in await messages_out(tx, sent):
        publish_to_group(tx, out.group_id, {"type": "group.message_updated", "group_id": out.group_id, "message": out.model_dump(mode="json")})
    return {"messages": len(sent), "reactions": reactions.rowcount, "announcement_opens": opens.rowcount}


PART = PersonalDataPart("groups", export_groups, erase_groups)
