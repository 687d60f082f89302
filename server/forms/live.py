"""Live dashboards: who watches which round, and one "it changed" frame per round per window, not one per submission.

A dashboard page sends ``{"type": "forms.watch", "round_id"}`` over the device
WebSocket; once the server has checked the person may see that round's
dashboard (server/forms/dashboard.py), the socket is a watcher on this node
until it closes, watches another round (``{"type": "forms.watching"}``
answers) or its person loses the organisation (``on_access_revoked``, on
every node at once). A submission (or an edit that changes the abnormal count) marks its
round as changed after its commit; every ``window_s`` each node publishes the
rounds changed there in one bus message (``forms-rounds``), and every node
sends ``{"type": "forms.round.changed", "round_id"}`` to its watchers of those
rounds. At 1,500 submissions a second that is two frames a second per
watcher, whatever the rate; the page then asks for the counts it shows. A
lost frame costs freshness, never correctness.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from typing import Any

from aiohttp import web
from sqlalchemy import select

from server.appkeys import BUS, DB, HUB
from server.errors import InvalidInput, NotFound
from server.gateway.frames import encode_frame
from server.forms.dashboard import visible_paths
from server.forms.models import FormRound
from server.forms.rounds import get_round
from server.gateway.hub import Connection
from server.orgs.access import OrgContext
from server.orgs.models import Membership
from server.revocation import AccessRevoked, on_access_revoked

log = logging.getLogger("muster.forms")

CHANNEL = "forms-rounds"


class RoundWatch:
    """This node's watchers of rounds, and the rounds changed here since the last window."""

    def __init__(self, app: web.Application, *, window_s: float = 0.5) -> None:
        self._app = app
        self._window_s = window_s
        self._watchers: dict[int, set[Connection]] = defaultdict(set)
        self._watching: dict[Connection, tuple[int, int]] = {}  # a watcher → the round it watches and the round's organisation
        self._changed: set[int] = set()
        self._flush: asyncio.Task | None = None

    def changed(self, round_id: int) -> None:
        """A round's counts changed (call after the commit)."""
        self._changed.add(round_id)
        if self._flush is None:
            self._flush = asyncio.get_running_loop().create_task(self._publish_soon())

    async def _publish_soon(self) -> None:
        try:
            await asyncio.sleep(self._window_s)
            changed, self._changed = self._changed, set()
            await self._app[BUS].publish(CHANNEL, json.dumps({"rounds": sorted(changed)}).encode())
        except Exception:
            log.exception("publishing changed rounds failed")
        # Not in a ``finally``: a node that stops cancels this task, and nothing is scheduled after it.
        self._flush = None
        if self._changed:
            self.changed(next(iter(self._changed)))

    def _on_changed(self, payload: bytes) -> None:
        for round_id in json.loads(payload)["rounds"]:
            watchers = self._watchers.get(round_id)
            if watchers:
                frame = encode_frame({"type": "forms.round.changed", "round_id": round_id})
                for connection in list(watchers):
                    connection.send(frame)

    async def on_watch(self, connection: Connection, message: dict[str, Any]) -> None:
        round_id = message.get("round_id")
        if not isinstance(round_id, int) or not 0 < round_id < 2**63:
            raise InvalidInput("round_id: a positive integer", field="round_id")
        db = self._app[DB]
        async with db.transaction() as tx:
            org_id = await tx.session.scalar(select(FormRound.org_id).where(FormRound.id == round_id))
        if org_id is None or connection.principal.is_guest:
            raise NotFound("no such round")
        async with db.transaction(org_id=org_id) as tx:
            membership = (await tx.session.execute(
                select(Membership.id, Membership.role).where(Membership.user_id == connection.user_id)
            )).first()
            if membership is None:
                raise NotFound("no such round")
            org = OrgContext(org_id, connection.principal, membership.id, membership.role)
            if not await visible_paths(tx, org, await get_round(tx, round_id)):
                raise NotFound("no such round")
        self._forget(connection)
        self._watchers[round_id].add(connection)
        self._watching[connection] = (round_id, org_id)
        connection.send(encode_frame({"type": "forms.watching", "round_id": round_id, "ref": message.get("ref")}))

    async def on_disconnect(self, connection: Connection) -> None:
        self._forget(connection)

    def on_revoked(self, revoked: AccessRevoked) -> None:
        """Whoever lost the organisation stops watching its rounds (losing one thing in it leaves its dashboards alone)."""
        if revoked.scope is not None:
            return
        gone = set(revoked.user_ids)
        for connection, (_, org_id) in list(self._watching.items()):
            if org_id == revoked.org_id and connection.user_id in gone:
                self._forget(connection)

    def _forget(self, connection: Connection) -> None:
        watched = self._watching.pop(connection, None)
        if watched is not None:
            round_id = watched[0]
            watchers = self._watchers.get(round_id)
            if watchers is not None:
                watchers.discard(connection)
                if not watchers:
                    del self._watchers[round_id]

    def attach(self) -> None:
        hub = self._app[HUB]
        hub.on("forms.watch", self.on_watch)
        hub.on_disconnect(self.on_disconnect)
        self._app[BUS].subscribe(CHANNEL, self._on_changed)
        on_access_revoked(self._app, self.on_revoked)


ROUND_WATCH = web.AppKey("forms_round_watch", RoundWatch)
