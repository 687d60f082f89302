"""After a bus outage, tell this node's devices where each of their groups stands, so they catch up.

Group frames published while this node's bus subscription was down never
reach its sockets (pub/sub keeps nothing). When the bus is back, every local
user gets one ``groups.resync`` frame listing each of their groups with its
``last_seq`` and ``last_change_seq``; a device behind on a group asks for
``GET .../messages?changed_after=`` its own last change number. The frame is
sent after the subscription is back, so anything later arrives live.

Cost: one query per 5,000 connected users, one frame per user.
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from aiohttp import web
from sqlalchemy import select

from server.appkeys import BUS, DB, HUB
from server.db import Database
from server.gateway.frames import encode_frame
from server.gateway.hub import Hub
from server.groups.models import Group, GroupMember

log = logging.getLogger("muster.groups")

USERS_PER_QUERY = 5000
RESYNC_FRAME = "groups.resync"


async def resync_local_devices(hub: Hub, db: Database) -> int:
    """Send every connected user the position of each of their groups; returns how many sockets got a frame."""
    users = list(hub.local_user_ids())
    sent = 0
    for start in range(0, len(users), USERS_PER_QUERY):
        positions: dict[int, list[dict]] = defaultdict(list)
        async with db.transaction() as tx:
            rows = await tx.session.execute(
                select(GroupMember.user_id, Group.org_id, Group.id, Group.last_seq, Group.last_change_seq)
                .join(Group, Group.id == GroupMember.group_id)
                .where(GroupMember.user_id.in_(users[start : start + USERS_PER_QUERY]))
            )
            for user_id, org_id, group_id, last_seq, last_change_seq in rows:
                positions[user_id].append({"org_id": org_id, "group_id": group_id, "last_seq": last_seq, "last_change_seq": last_change_seq})
        for user_id, groups in positions.items():
            sent += hub.send_to_users([user_id], encode_frame({"type": RESYNC_FRAME, "groups": groups}))
    return sent


def setup(app: web.Application) -> None:
    tasks: set[asyncio.Task] = set()

    async def resync() -> None:
        try:
            await resync_local_devices(app[HUB], app[DB])
        except Exception:
            log.exception("could not tell devices to resync their groups after a bus outage")

    def on_reconnect() -> None:
        task = asyncio.get_running_loop().create_task(resync())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def cancel(_app: web.Application) -> None:
        for task in list(tasks):
            task.cancel()

    app[BUS].on_reconnect(on_reconnect)
    app.on_cleanup.append(cancel)
