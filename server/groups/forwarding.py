"""Forwarding: a copy of a message posted in another group of the caller's, saying where it came from.

The copy is a new message of the target group (its own number, the
forwarder as sender, ``forwarded_from`` naming the original) and costs what
any post costs. A file goes with it without being sent again: the target
group gets its own file with the same bytes (``do_copy_file``, a hard link),
so recalling either message, or leaving either group, leaves the other intact.
"""
from __future__ import annotations

from server.config import Settings
from server.db import Transaction
from server.errors import InvalidInput
from server.files.models import StoredFile
from server.files.storage import do_copy_file
from server.groups.access import GroupAccess
from server.groups.files import GROUP_FILES
from server.groups.messages import do_post_message, load_message
from server.groups.schemas import MessageOut

FORWARDABLE = ("text", "announcement", "image", "file", "voice")


async def do_forward(tx: Transaction, source: GroupAccess, target: GroupAccess, settings: Settings, seq: int) -> MessageOut:
    """Post message ``seq`` of the source group in the target group, with its file if it has one."""
    message = await load_message(tx, source.group.id, seq)
    if message.recalled_at is not None:
        raise InvalidInput("a recalled message cannot be forwarded", code="recalled")
    if message.kind not in FORWARDABLE:
        raise InvalidInput("a {kind} message cannot be forwarded", code="not_forwardable", kind=message.kind)
    file = await tx.session.get(StoredFile, message.file_id) if message.file_id is not None else None
    copy = await do_copy_file(tx, settings, file, GROUP_FILES, target.group.id) if file is not None else None
    return await do_post_message(
        tx,
        target,
        settings,
        body=message.body,
        kind="text" if message.kind == "announcement" else message.kind,
        file=copy,
        forwarded_from=message.forwarded_from or {"group_id": message.group_id, "seq": message.seq, "sender_id": message.sender_id},
        duration_ms=message.duration_ms,
    )
