"""The events of a stream's room, published after commit on the bus channel ``live-room`` (delivered by rooms/live/room.py).

``live.chat`` and ``live.chat_removed``, ``live.likes`` (the total, once an
interval), ``live.viewers`` (when someone starts or stops watching),
``live.hand`` (to the managers and the person), ``live.invited`` (to the
person), ``live.paused`` and ``live.resumed`` (the publisher vanished, came
back), ``live.ended``. (``live.removed`` is written by each node to the sockets of a
person who lost the stream: rooms/live/room.py.)
"""
from __future__ import annotations

import json

from server.db import Transaction

ROOM_CHANNEL = "live-room"  # bus: {"stream_id", "type", "data", "to": "all" | "managers" | user id}


def tell(tx: Transaction, stream_id: int, type: str, data: dict, to: str | int = "all") -> None:
    """After ``tx`` commits, ``type`` with ``data`` reaches the stream's watchers on every node: ``"all"`` of them, its
    ``"managers"``, or the sockets of one person (a user id)."""
    tx.publish(ROOM_CHANNEL, json.dumps({"stream_id": stream_id, "type": type, "data": data, "to": to}, separators=(",", ":")).encode())
