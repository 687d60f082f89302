"""Which people have a device connected to any node: asked over the bus when it matters, never tracked in a table.

Only the push worker needs to know (server/groups/notifying.py), and only for
the few people it is about to push to, so nothing is written when a socket
opens or closes; and a form reminder (server/forms/reminders.py), which asks
once for everyone connected (``everyone()``: each node answers with all its
people, 20,000 ids are ~150 KB on the bus) and tells those of them who owe an
answer first. ``connected(user_ids)`` answers this node's part from the hub
and, with other nodes (a Redis bus), publishes the ids on ``presence-query``;
every other node answers on ``presence-answer`` with those of them that have
a socket there. It returns when every node heard from (answering or asking)
in the last ``NODE_MEMORY_S`` has answered (the first time, knowing none,
after ``wait_s``), or after ``wait_s``: a node that does not answer in time
counts as having none of them connected, so the cost of a slow node is a
push too many, never a person not told. A reminder's questions are patient
(``PATIENT_S``, for the nodes known): there a late answer costs thousands of
people their in-app reminder, or an SMS paid for someone connected (a node
busy with 10,000 sockets answered the city's question after 0.5 s,
bench/RESULTS.md ## health).
"""
from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Collection

from aiohttp import web

from server.appkeys import BUS, HUB, SETTINGS
from server.bus import Bus
from server.gateway.hub import Hub

QUERY_CHANNEL = "presence-query"
ANSWER_CHANNEL = "presence-answer"
NODE_MEMORY_S = 300.0
PATIENT_S = 5.0  # how long a patient question waits for the nodes it knows (a reminder's: a late node costs thousands of SMS)


class Presence:
    def __init__(self, hub: Hub, bus: Bus, *, node: str, alone: bool, wait_s: float) -> None:
        self._hub, self._bus, self._node, self._alone, self._wait_s = hub, bus, node, alone, wait_s
        self._nodes: dict[str, float] = {}  # other node -> when it last answered
        self._asking: dict[str, tuple[set[int], set[str], set[str], asyncio.Event]] = {}  # id -> (connected, expected, answered, all in)
        self._ids = itertools.count()
        self._tasks: set[asyncio.Task] = set()

    async def connected(self, user_ids: Collection[int], *, patience_s: float = 0.0) -> set[int]:
        """Those of ``user_ids`` with a socket open on any node (as far as the nodes answered within ``wait_s``, or
        ``patience_s`` for the nodes it knows)."""
        local = self._hub.local_user_ids()
        found = {u for u in user_ids if u in local}
        if self._alone or not user_ids:
            return found
        return await self._ask(found, list(user_ids), patience_s)

    async def everyone(self) -> set[int]:
        """Everyone with a socket open on any node: as far as the nodes it knows answered within ``PATIENT_S`` (a
        busy node answering 10,000 ids may take more than ``wait_s``), or, knowing none, whoever answered within ``wait_s``."""
        found = set(self._hub.local_user_ids())
        return found if self._alone else await self._ask(found, None, PATIENT_S)

    async def _ask(self, found: set[int], user_ids: list[int] | None, patience_s: float = 0.0) -> set[int]:
        """Add to ``found`` what the other nodes answer about ``user_ids`` (None: all their people), waiting ``wait_s``
        for them, or up to ``patience_s`` if it knows which nodes to wait for."""
        query_id = f"{self._node}/{next(self._ids)}"
        done = asyncio.Event()
        now = time.monotonic()
        expected = {node for node, seen in self._nodes.items() if now - seen < NODE_MEMORY_S}
        self._asking[query_id] = (found, expected, set(), done)
        try:
            await self._bus.publish(QUERY_CHANNEL, json.dumps({"id": query_id, "node": self._node, "users": user_ids}).encode())
            try:
                await asyncio.wait_for(done.wait(), max(self._wait_s, patience_s) if expected else self._wait_s)
            except TimeoutError:
                pass
        finally:
            self._asking.pop(query_id, None)
        return found

    def on_query(self, payload: bytes) -> None:
        query = json.loads(payload)
        if query["node"] == self._node:
            return
        self._nodes[query["node"]] = time.monotonic()  # a node that asks is there to answer too
        local = self._hub.local_user_ids()
        asked = query["users"]
        answer = {"id": query["id"], "node": self._node, "users": list(local) if asked is None else [u for u in asked if u in local]}
        task = asyncio.get_running_loop().create_task(self._bus.publish(ANSWER_CHANNEL, json.dumps(answer).encode()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def on_answer(self, payload: bytes) -> None:
        answer = json.loads(payload)
        self._nodes[answer["node"]] = time.monotonic()
        asking = self._asking.get(answer["id"])
        if asking is None:
            return
        found, expected, answered, done = asking
        found.update(answer["users"])
        answered.add(answer["node"])
        if expected and expected <= answered:  # knowing no other node yet, it waits the whole time for whoever answers
            done.set()


PRESENCE = web.AppKey("presence", Presence)


def setup(app: web.Application) -> None:
    settings = app[SETTINGS]
    presence = Presence(app[HUB], app[BUS], node=settings.node_name, alone=not settings.redis_url, wait_s=settings.presence_wait_s)
    app[PRESENCE] = presence
    unsubscribe = [app[BUS].subscribe(QUERY_CHANNEL, presence.on_query), app[BUS].subscribe(ANSWER_CHANNEL, presence.on_answer)]

    async def _unsubscribe(_app: web.Application) -> None:
        for stop in unsubscribe:
            stop()

    app.on_cleanup.append(_unsubscribe)
