"""Whether a waiting patient's page is connected: the ``consultation.here`` frame of the device WebSocket, and its socket's end.

The patient page sends ``consultation.here`` once its socket is ready (again
after each reconnect); the patient's guest session names the consultation, so
the frame carries nothing. When the last such socket of the patient on this
node goes, their row is marked away and the grace period starts
(rooms/consultations/queue.py). A patient whose page reconnects to another
node is marked here again by that node's frame.
"""
from __future__ import annotations

import asyncio

from rooms.consultations.queue import GUEST_SCOPE_KIND, do_mark_presence
from server.db import Database
from server.errors import Forbidden




class Presence:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.here: dict[object, tuple[int, int]] = {}  # socket -> (org id, consultation id)

    def attach(self, hub) -> None:
        hub.on("consultation.here", self.on_here, cost=5)
        hub.on_disconnect(self.disconnected)

    async def on_here(self, connection, message: dict) -> None:
        scope = connection.principal.guest
        if scope is None or scope.kind != GUEST_SCOPE_KIND:
            raise Forbidden("only a patient waiting in a clinic's queue sends this")
        self.here[connection] = (scope.org_id, scope.id)
        async with self.db.transaction(org_id=scope.org_id) as tx:
            await do_mark_presence(tx, scope.id, here=True)

    async def disconnected(self, connection) -> None:
        gone = self.here.pop(connection, None)
        if gone is None or gone in self.here.values():
            return
        # The socket's handler may be cancelled as its connection goes (aiohttp's handler_cancellation): the mark is written all the same.
        await asyncio.shield(self._mark_away(*gone))

    async def _mark_away(self, org_id: int, consultation_id: int) -> None:
        async with self.db.transaction(org_id=org_id) as tx:
            await do_mark_presence(tx, consultation_id, here=False)
