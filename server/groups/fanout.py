"""Fan-out: one bus message per group message, delivered by each node to its own sockets.

Every node subscribes to ``group-messages``. A payload is the group id and
the client frame, already encoded by the node that stored the message
(server/groups/events.py), so a node never decodes it: it finds which of
the group's members have sockets here and hands the frame to
``hub.send_to_users``, which wraps it in a WebSocket header once and writes
that one bytes object to all of their sockets in one call to C
(server/gateway/_fanout.c).

Finding them: a per-node cache of each group's member ids (a frozenset),
filled from the database on first use and dropped when any node publishes
``group-members-changed`` for that group. Delivery intersects it with the
hub's connected user ids by iterating the smaller of the two, so the cost on
a node is O(min(members, local users)) set lookups, plus one ``send(2)``
per local socket. A node with no sockets does nothing at all.

While a group's members are loading, its frames wait in arrival order and
are delivered in that order once the set is known; later frames queue
behind them, so a group's messages never overtake one another on a node.
"""
from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from aiohttp import web
from sqlalchemy import select

from server.appkeys import BUS, DB, HUB
from server.db import Database
from server.gateway.hub import Hub
from server.groups.events import GROUP_MEMBERS_CHANNEL, GROUP_MESSAGES_CHANNEL, split_group_payload
from server.groups.models import GroupMember

log = logging.getLogger("muster.groups")

CACHED_GROUPS = 1000  # member sets kept per node; a 10,000-member set is ~0.5 MB


class GroupFanout:
    def __init__(self, hub: Hub, db: Database, *, cached_groups: int = CACHED_GROUPS) -> None:
        self._hub = hub
        self._db = db
        self._cached_groups = cached_groups
        self._members: OrderedDict[int, frozenset[int]] = OrderedDict()
        self._waiting: dict[int, list[bytes]] = {}  # group id -> frames held while its members load
        self._stale: set[int] = set()  # groups whose membership changed while loading
        self._tasks: set[asyncio.Task] = set()
        self.delivered = 0  # sockets a frame was written to, since start (for tests and benchmarks)

    # --- bus handlers (must not block) ---------------------------------------

    def on_group_message(self, payload: bytes) -> None:
        if not self._hub.local_user_ids():
            return
        group_id, frame = split_group_payload(payload)
        if group_id in self._waiting:
            self._waiting[group_id].append(frame)
            return
        members = self._members.get(group_id)
        if members is None:
            self._waiting[group_id] = [frame]
            self._spawn(self._load_then_deliver(group_id))
            return
        self._members.move_to_end(group_id)
        self._deliver(members, frame)

    def on_members_changed(self, payload: bytes) -> None:
        group_id = int(payload)
        self._members.pop(group_id, None)
        if group_id in self._waiting:
            self._stale.add(group_id)

    def forget_all(self) -> None:
        """After a bus outage invalidations may have been missed: reload every set on next use."""
        self._members.clear()

    # --- delivery ------------------------------------------------------------

    def _deliver(self, members: frozenset[int], frame: bytes) -> None:
        local = self._hub.local_user_ids()
        if len(members) <= len(local):
            targets = [u for u in members if u in local]
        else:
            targets = [u for u in local if u in members]
        if targets:
            self.delivered += self._hub.send_to_users(targets, frame)

    async def _load_then_deliver(self, group_id: int) -> None:
        try:
            while True:
                self._stale.discard(group_id)
                members = await self._load(group_id)
                if group_id not in self._stale:
                    break
        except Exception:
            log.exception("could not load the members of group %s; its devices catch up from history", group_id)
            self._waiting.pop(group_id, None)
            return
        self._remember(group_id, members)
        for frame in self._waiting.pop(group_id, ()):
            self._deliver(members, frame)

    async def _load(self, group_id: int) -> frozenset[int]:
        async with self._db.transaction() as tx:
            return frozenset(await tx.session.scalars(select(GroupMember.user_id).where(GroupMember.group_id == group_id)))

    def _remember(self, group_id: int, members: frozenset[int]) -> None:
        self._members[group_id] = members
        self._members.move_to_end(group_id)
        while len(self._members) > self._cached_groups:
            self._members.popitem(last=False)

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


FANOUT = web.AppKey("groups_fanout", GroupFanout)


def setup(app: web.Application) -> None:
    """Subscribe before the bus starts, like the hub, so the node listens from the moment it is up."""
    fanout = GroupFanout(app[HUB], app[DB])
    app[FANOUT] = fanout
    bus = app[BUS]
    unsubscribe = [
        bus.subscribe(GROUP_MESSAGES_CHANNEL, fanout.on_group_message),
        bus.subscribe(GROUP_MEMBERS_CHANNEL, fanout.on_members_changed),
    ]
    bus.on_reconnect(fanout.forget_all)

    async def _unsubscribe(_app: web.Application) -> None:
        for stop in unsubscribe:
            stop()

    app.on_cleanup.append(_unsubscribe)
