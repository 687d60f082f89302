"""Messages: post, edit, recall, react, and read the history by sequence number.

Posting costs the same whatever the group's size (a test counts the queries):

1. load the group and the sender's membership (one SELECT; ``access.load_group``);
2. load the quoted message (one SELECT, only for a reply);
3. ``UPDATE groups SET last_seq = last_seq + 1, last_change_seq = ... RETURNING``:
   the new message's number and its change number. The row stays locked
   until commit, so numbers are gap-free and follow commit order;
4. one INSERT of the message, and one UPDATE moving the sender's own read
   pointer (you have read what you wrote);
5. only with mentions (at most 100 people): one ``INSERT ... SELECT`` of who
   is named from the group's members, which refuses anyone who is not one,
   one SELECT of their counts and an ``emit`` per distinct count
   (server/groups/mentions.py; for @all only the SELECT that checks them);
6. after commit, one bus message (server/groups/events.py).

An edit, a recall or a reaction takes the group's next change number the
same way and stamps it on the message, so a device that was offline asks
for everything changed after the last change number it saw (``history``
with ``changed_after``) and gets new messages and later changes alike.

A recall takes the message's file with it: the file is deleted (its quota
freed, its bytes unlinked after commit), so no link to it works any more.
Each person puts at most ``REACTIONS_PER_PERSON`` different reactions on a
message; the group row's lock (the change number) makes the count exact.

Read state is never written per member here: unread counts and "read by"
lists come from each member's ``read_seq`` (server/groups/reading.py).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import delete, select, update

from server.config import Settings
from server.db import Transaction, utcnow
from server.db.keyset import keyset_page
from server.db.upsert import insert_for
from server.errors import Forbidden, InvalidInput, NotFound
from server.files.models import StoredFile
from server.files.storage import do_delete_file
from server.groups.access import GroupAccess
from server.groups.events import publish_to_group
from server.groups.mentions import do_forget_mentions, do_record_mentions
from server.groups.models import Group, GroupMember, GroupMessage, GroupReaction
from server.groups.schemas import FileOut, MessageOut, QuoteOut, ReactionOut

QUOTE_CHARS = 200
REACTIONS_PER_PERSON = 10  # different emoji one person may put on one message


def check_body(settings: Settings, body: str) -> None:
    if len(body) > settings.group_message_max_chars:
        raise InvalidInput(
            "a message may have at most {group_message_max_chars} characters; this one has {length}",
            field="body",
            code="too_long", group_message_max_chars=settings.group_message_max_chars, length=len(body),
        )


def check_mention_all(settings: Settings, access: GroupAccess) -> None:
    if settings.group_mention_all == "admins" and not access.is_admin:
        raise Forbidden("only group admins can mention @all", field="mention_all")


async def load_message(tx: Transaction, group_id: int, seq: int, *, field: str | None = None) -> GroupMessage:
    message = await tx.session.scalar(select(GroupMessage).where(GroupMessage.group_id == group_id, GroupMessage.seq == seq))
    if message is None:
        if field is not None:
            raise InvalidInput("no message {seq} in this group", field=field, seq=seq)
        raise NotFound("no such message in this group")
    return message


async def do_post_message(
    tx: Transaction,
    access: GroupAccess,
    settings: Settings,
    *,
    body: str,
    kind: str = "text",
    mentions: Sequence[int] = (),
    mention_all: bool = False,
    reply_to_seq: int | None = None,
    file: StoredFile | None = None,
    forwarded_from: dict | None = None,
    duration_ms: int | None = None,
) -> MessageOut:
    """Store the message under the group's next sequence number; members' devices hear of it after commit."""
    check_body(settings, body)
    if mention_all:
        check_mention_all(settings, access)
    group_id = access.group.id
    mentions = sorted(set(mentions))  # each checked as a member when stored (do_record_mentions)
    quoted = await load_message(tx, group_id, reply_to_seq, field="reply_to_seq") if reply_to_seq is not None else None
    mentioning = {"last_mention_seq": Group.last_seq + 1} if mentions or mention_all else {}
    seq, change_seq = (
        await tx.session.execute(
            update(Group)
            .where(Group.id == group_id)
            .values(last_seq=Group.last_seq + 1, last_change_seq=Group.last_change_seq + 1, **mentioning)
            .returning(Group.last_seq, Group.last_change_seq)
            .execution_options(synchronize_session=False)
        )
    ).one()
    message = GroupMessage(
        org_id=access.group.org_id,
        group_id=group_id,
        seq=seq,
        change_seq=change_seq,
        sender_id=access.user_id,
        kind=kind,
        body=body,
        reply_to_seq=reply_to_seq,
        mentions=mentions,
        mention_all=mention_all,
        file_id=file.id if file else None,
        forwarded_from=forwarded_from,
        duration_ms=duration_ms,
        created_at=utcnow(),
    )
    tx.session.add(message)
    await tx.session.flush()
    await tx.session.execute(
        update(GroupMember)
        .where(GroupMember.group_id == group_id, GroupMember.user_id == access.user_id, GroupMember.read_seq < seq)
        .values(read_seq=seq)
        .execution_options(synchronize_session=False)
    )
    if mentioning:
        await do_record_mentions(tx, message)
    out = message_out(message, quote=quoted, file=file)
    publish_to_group(tx, group_id, {"type": "group.message", "group_id": group_id, "message": out.model_dump(mode="json")})
    return out


async def do_edit_message(tx: Transaction, access: GroupAccess, settings: Settings, seq: int, body: str) -> MessageOut:
    """The sender changes the text of their message; everyone sees the new text, marked edited."""
    check_body(settings, body)
    message = await _load_for_change(tx, access.group.id, seq)
    if message.sender_id != access.user_id:
        raise Forbidden("only the sender can edit a message")
    if message.recalled_at is not None:
        raise InvalidInput("a recalled message cannot be edited", code="recalled")
    if message.kind not in ("text", "announcement"):
        raise InvalidInput("a {kind} message cannot be edited", code="not_editable", kind=message.kind)
    if utcnow() - message.created_at > dt.timedelta(seconds=settings.group_edit_window_s):
        raise Forbidden(
            "a message can be edited only within {seconds} seconds of sending", code="edit_window_passed", seconds=settings.group_edit_window_s
        )
    message.body = body
    message.edited_at = utcnow()
    await tx.session.flush()
    return await _publish_update(tx, message)


async def do_recall_message(tx: Transaction, access: GroupAccess, settings: Settings, seq: int) -> MessageOut:
    """Within the recall window the sender takes a message back: its content (and its file) is gone for everyone, its number stays."""
    message = await _load_for_change(tx, access.group.id, seq)
    if message.sender_id != access.user_id:
        raise Forbidden("only the sender can recall a message")
    if message.recalled_at is not None:
        return (await messages_out(tx, [message]))[0]
    if utcnow() - message.created_at > dt.timedelta(seconds=settings.group_recall_window_s):
        raise Forbidden(
            "a message can be recalled only within {group_recall_window_s} seconds of sending", code="recall_window_passed", group_recall_window_s=settings.group_recall_window_s
        )
    file_id = message.file_id
    named, mention_all = list(message.mentions or ()), message.mention_all
    message.body = ""
    message.mentions = []
    message.mention_all = False
    message.file_id = None
    message.recalled_at = utcnow()
    await tx.session.flush()
    if file_id is not None:
        await do_delete_file(tx, settings, file_id)
    if named or mention_all:
        await do_forget_mentions(tx, message, named, mention_all)
    await tx.session.execute(
        delete(GroupReaction)
        .where(GroupReaction.group_id == message.group_id, GroupReaction.seq == seq)
        .execution_options(synchronize_session=False)
    )
    return await _publish_update(tx, message)


async def do_react(tx: Transaction, access: GroupAccess, seq: int, emoji: str, *, on: bool) -> MessageOut:
    """Add (``on``) or take back the caller's reaction; adding one twice is once."""
    message = await _load_for_change(tx, access.group.id, seq)
    if message.recalled_at is not None:
        raise InvalidInput("a recalled message cannot get reactions", code="recalled")
    if on:
        await check_reaction_room(tx, message, access.user_id, emoji)
        await tx.session.execute(
            insert_for(tx.dialect, GroupReaction)
            .values(org_id=message.org_id, group_id=message.group_id, seq=seq, user_id=access.user_id, emoji=emoji)
            .on_conflict_do_nothing()
        )
    else:
        await tx.session.execute(
            delete(GroupReaction)
            .where(
                GroupReaction.group_id == message.group_id,
                GroupReaction.seq == seq,
                GroupReaction.user_id == access.user_id,
                GroupReaction.emoji == emoji,
            )
            .execution_options(synchronize_session=False)
        )
    return await _publish_update(tx, message)


async def check_reaction_room(tx: Transaction, message: GroupMessage, user_id: int, emoji: str) -> None:
    """Refuse a new reaction past ``REACTIONS_PER_PERSON`` of this person's on this message (one already there is fine)."""
    mine = set(
        await tx.session.scalars(
            select(GroupReaction.emoji).where(
                GroupReaction.group_id == message.group_id, GroupReaction.seq == message.seq, GroupReaction.user_id == user_id
            )
        )
    )
    if emoji not in mine and len(mine) >= REACTIONS_PER_PERSON:
        raise InvalidInput(
            "one person may put at most {reactions_per_person} different reactions on a message; take one back first",
            field="emoji",
            code="too_many_reactions", reactions_per_person=REACTIONS_PER_PERSON,
        )


async def _load_for_change(tx: Transaction, group_id: int, seq: int) -> GroupMessage:
    """The message, stamped with the group's next change number (kept only if the change commits).

    The number comes first: its UPDATE locks the group row, so the message is
    read after any concurrent change to it committed, and changes are
    numbered in commit order. A no-op (recalling twice) may leave a gap;
    change numbers are a cursor, only their order matters.
    """
    change_seq = await tx.session.scalar(
        update(Group)
        .where(Group.id == group_id)
        .values(last_change_seq=Group.last_change_seq + 1)
        .returning(Group.last_change_seq)
        .execution_options(synchronize_session=False)
    )
    message = await load_message(tx, group_id, seq)
    message.change_seq = change_seq
    return message


async def _publish_update(tx: Transaction, message: GroupMessage) -> MessageOut:
    out = (await messages_out(tx, [message]))[0]
    publish_to_group(tx, message.group_id, {"type": "group.message_updated", "group_id": message.group_id, "message": out.model_dump(mode="json")})
    return out


async def history(
    tx: Transaction, group_id: int, *, after_seq: int | None, before_seq: int | None, changed_after: int | None, limit: int
) -> tuple[list[GroupMessage], bool]:
    """A page of messages and whether more follow: those new or changed after change number ``changed_after``
    in change order (syncing), else in sequence order the oldest after ``after_seq``, else the newest before ``before_seq``."""
    query = select(GroupMessage).where(GroupMessage.group_id == group_id)
    if changed_after is not None or after_seq is not None:
        if before_seq is not None:
            query = query.where(GroupMessage.seq < before_seq)
        if changed_after is not None:
            page = await keyset_page(tx, query, GroupMessage.change_seq, after=changed_after, limit=limit)
        else:
            page = await keyset_page(tx, query, GroupMessage.seq, after=after_seq, limit=limit)
        return page.rows, page.next_after is not None
    page = await keyset_page(tx, query, GroupMessage.seq, after=before_seq, limit=limit, descending=True)
    return page.rows[::-1], page.next_after is not None


def message_out(
    message: GroupMessage,
    *,
    quote: GroupMessage | None = None,
    file: StoredFile | None = None,
    reactions: list[ReactionOut] | None = None,
) -> MessageOut:
    return MessageOut(
        group_id=message.group_id,
        seq=message.seq,
        change_seq=message.change_seq,
        sender_id=message.sender_id,
        kind=message.kind,
        body=message.body,
        reply_to_seq=message.reply_to_seq,
        quote=_quote(quote) if quote is not None else None,
        mentions=message.mentions or [],
        mention_all=message.mention_all,
        file=FileOut.model_validate(file) if file is not None and message.recalled_at is None else None,
        reactions=reactions or [],
        created_at=message.created_at,
        edited_at=message.edited_at,
        recalled_at=message.recalled_at,
        forwarded_from=message.forwarded_from,
        duration_ms=message.duration_ms,
    )


def _quote(message: GroupMessage) -> QuoteOut:
    recalled = message.recalled_at is not None
    return QuoteOut(seq=message.seq, sender_id=message.sender_id, body="" if recalled else message.body[:QUOTE_CHARS], recalled=recalled)


async def messages_out(tx: Transaction, messages: Sequence[GroupMessage]) -> list[MessageOut]:
    """Messages with their quotes, files and reactions: three more queries for the whole page, not per message."""
    if not messages:
        return []
    by_group: dict[int, set[int]] = defaultdict(set)
    for m in messages:
        by_group[m.group_id].add(m.seq)
    quotes: dict[tuple[int, int], GroupMessage] = {}
    reactions: dict[tuple[int, int], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for group_id, seqs in by_group.items():
        quoted = {m.reply_to_seq for m in messages if m.group_id == group_id and m.reply_to_seq is not None}
        if quoted:
            for q in await tx.session.scalars(select(GroupMessage).where(GroupMessage.group_id == group_id, GroupMessage.seq.in_(quoted))):
                quotes[(group_id, q.seq)] = q
        rows = await tx.session.execute(
            select(GroupReaction.seq, GroupReaction.emoji, GroupReaction.user_id)
            .where(GroupReaction.group_id == group_id, GroupReaction.seq.in_(seqs))
            .order_by(GroupReaction.seq, GroupReaction.emoji, GroupReaction.user_id)
        )
        for seq, emoji, user_id in rows:
            reactions[(group_id, seq)][emoji].append(user_id)
    file_ids = {m.file_id for m in messages if m.file_id is not None}
    files = {f.id: f for f in await tx.session.scalars(select(StoredFile).where(StoredFile.id.in_(file_ids)))} if file_ids else {}
    return [
        message_out(
            m,
            quote=quotes.get((m.group_id, m.reply_to_seq)) if m.reply_to_seq is not None else None,
            file=files.get(m.file_id) if m.file_id is not None else None,
            reactions=[
                ReactionOut(emoji=emoji, count=len(users), user_ids=users) for emoji, users in reactions.get((m.group_id, m.seq), {}).items()
            ],
        )
        for m in messages
    ]
