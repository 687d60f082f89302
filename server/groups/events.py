"""What groups put on the bus, and how.

Two channels, each one bus message per change whatever the group's size:

* ``group-messages``: a frame for every member's devices (a new message, an
  edit, a recall, a reaction, an announcement). The payload is
  ``b"<group_id>\\n"`` followed by the client frame, already encoded, so every
  node forwards the same bytes to its sockets without decoding or
  re-encoding them (server/groups/fanout.py).
* ``group-members-changed``: ``b"<group_id>"``; nodes drop their cached
  member set of that group.

Personal events (added to or removed from a group, read on another device)
go through ``server.gateway.events.emit``: they are stored per recipient and
replayed to a device that was offline. Group messages are not: a device
catches up per group from the last change number it saw
(``GET .../messages?changed_after=``), which returns new messages and later
edits, recalls and reactions alike (server/groups/messages.py). After a bus
outage a node tells its devices where their groups stand (server/groups/resync.py).
"""
from __future__ import annotations

from typing import Any

from server.db import Transaction
from server.gateway.frames import encode_frame

GROUP_MESSAGES_CHANNEL = "group-messages"
GROUP_MEMBERS_CHANNEL = "group-members-changed"


def publish_to_group(tx: Transaction, group_id: int, frame: dict[str, Any]) -> None:
    """After commit: one bus message carrying ``frame`` to every connected member of the group."""
    tx.publish(GROUP_MESSAGES_CHANNEL, b"%d\n" % group_id + encode_frame(frame))


def publish_members_changed(tx: Transaction, group_id: int) -> None:
    tx.publish(GROUP_MEMBERS_CHANNEL, b"%d" % group_id)


def split_group_payload(payload: bytes) -> tuple[int, bytes]:
    """``(group_id, frame bytes)`` of a ``group-messages`` payload."""
    head, _, frame = payload.partition(b"\n")
    return int(head), frame
