"""The sender's live dashboard: receipt and delivery changes pushed to the sender's open sockets.

Every change is published once on the bus channel ``notify-dashboard`` (after
the commit that made it); each node forwards it as a ``broadcast.updated``
frame to the sender's sockets connected to *that* node. The page refetches
the counts when such a frame arrives, so a lost frame costs freshness, never
correctness.
"""
from __future__ import annotations

import json
import logging

from aiohttp import web

from server.appkeys import BUS, HUB
from server.bus import Bus
from server.db import Transaction
from server.gateway.frames import encode_frame

log = logging.getLogger("muster.notify")

DASHBOARD_CHANNEL = "notify-dashboard"


def dashboard_message(broadcast_id: int, sender_id: int | None, kind: str, changes: list) -> bytes:
    """``kind`` is ``receipts`` (changes: [user_id, state]) or ``deliveries`` (changes: [user_id, channel, status])."""
    return json.dumps({"broadcast_id": broadcast_id, "sender_id": sender_id, "kind": kind, "changes": changes}).encode()


def publish_after_commit(tx: Transaction, broadcast_id: int, sender_id: int | None, kind: str, changes: list) -> None:
    if sender_id is not None and changes:
        tx.publish(DASHBOARD_CHANNEL, dashboard_message(broadcast_id, sender_id, kind, changes))


async def publish_now(bus: Bus, broadcast_id: int, sender_id: int | None, kind: str, changes: list) -> None:
    if sender_id is not None and changes:
        await bus.publish(DASHBOARD_CHANNEL, dashboard_message(broadcast_id, sender_id, kind, changes))


def attach(app: web.Application) -> None:
    hub = app[HUB]

    def forward(payload: bytes) -> None:
        message = json.loads(payload)
        frame = encode_frame({"type": "broadcast.updated", **{k: message[k] for k in ("broadcast_id", "kind", "changes")}})
        hub.send_to_users([message["sender_id"]], frame)

    app[BUS].subscribe(DASHBOARD_CHANNEL, forward)
