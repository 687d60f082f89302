"""What everyone watching a stream hears at once: chat, likes, hands, viewers, pause and resume, the end, a removal.

A watch page (or the studio) opens the device WebSocket and sends
``live.watch {stream_id}``; the node checks that the person may watch the
stream, as the API does (404 otherwise), and adds the socket to that stream's
watchers on this node, managers marked. An event is published after its
transaction commits, on the bus channel ``live-room`` (rooms/live/events.py), and every
node writes it to its own watchers of the stream. Cost per event, whatever
the audience: one bus message, one JSON encode per node, one socket write per
watcher; nothing is stored per watcher (the chat has its own table, which a
page reads when it (re)connects). An event goes to ``"all"`` the stream's
watchers, to its ``"managers"`` (the hand queue), or to one person (an
invitation, a removal).

Someone removed from the stream (rooms/live/moderation.py) or who loses
access to it (the organisation, the stream's group, or the stream itself for
a guest) stops watching at once: the platform's ``on_access_revoked`` reaches
every node, whose sockets of that person stop getting the stream's events and
are told ``live.removed``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from rooms.live import streams as s
from rooms.live.events import ROOM_CHANNEL
from server.bus import Bus
from server.db import Database
from server.errors import InvalidInput
from server.gateway.frames import encode_frame
from server.orgs.access import resolve_org_in
from server.revocation import AccessRevoked

REMOVED = "live.removed"  # to a socket whose person lost the stream

@dataclass(eq=False)
class Watcher:
    connection: object
    stream_id: int
    org_id: int
    group_id: int
    manager: bool

    @property
    def user_id(self) -> int:
        return self.connection.user_id


class StreamRooms:
    """This node's sockets watching each stream."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.watchers: dict[int, set[Watcher]] = {}  # stream id -> its watchers on this node
        self._of_connection: dict[object, dict[int, Watcher]] = {}  # socket -> stream id -> its watcher

    def attach(self, hub, bus: Bus) -> None:
        hub.on("live.watch", self.on_watch, cost=5)
        hub.on_disconnect(self.disconnected)
        bus.subscribe(ROOM_CHANNEL, self._on_bus)

    async def on_watch(self, connection, message: dict) -> None:
        stream_id = _stream_id(message)
        org_id = await s.org_of_stream(self.db, stream_id)
        async with self.db.transaction(org_id=org_id) as tx:
            org = await resolve_org_in(tx, org_id, connection.principal, None)
            stream = await s.check_may_watch(tx, org, stream_id)
            manager = await s.may_manage(tx, org, stream)
        if connection.closed:
            return
        watcher = Watcher(connection, stream.id, org_id, stream.group_id, manager)
        self._forget(connection, stream.id)
        self.watchers.setdefault(stream.id, set()).add(watcher)
        self._of_connection.setdefault(connection, {})[stream.id] = watcher
        connection.send(encode_frame({"type": "live.watching", "stream_id": stream.id, "manager": manager, "ref": message.get("ref")}))

    async def disconnected(self, connection) -> None:
        for stream_id in list(self._of_connection.get(connection, {})):
            self._forget(connection, stream_id)

    def _forget(self, connection, stream_id: int) -> None:
        watcher = self._of_connection.get(connection, {}).pop(stream_id, None)
        if watcher is None:
            return
        if not self._of_connection[connection]:
            del self._of_connection[connection]
        here = self.watchers.get(stream_id)
        if here is not None:
            here.discard(watcher)
            if not here:
                del self.watchers[stream_id]

    def _on_bus(self, payload: bytes) -> None:
        message = json.loads(payload)
        stream_id, to = message["stream_id"], message["to"]
        here = self.watchers.get(stream_id)
        if not here:
            return
        frame = encode_frame({"type": message["type"], "stream_id": stream_id, "data": message["data"]})
        for watcher in list(here):
            if to == "all" or (to == "managers" and watcher.manager) or to == watcher.user_id:
                watcher.connection.send(frame)

    def drop(self, revoked: AccessRevoked) -> None:
        """People who lost the stream (see the module) stop getting its events; each of their sockets is told."""
        for stream_id, here in list(self.watchers.items()):
            for watcher in [w for w in here if s.loses_stream(revoked, w.org_id, w.user_id, w.group_id, stream_id)]:
                watcher.connection.send(encode_frame({"type": REMOVED, "stream_id": stream_id, "data": {}}))
                self._forget(watcher.connection, stream_id)


def _stream_id(message: dict) -> int:
    stream_id = message.get("stream_id")
    if not isinstance(stream_id, int) or isinstance(stream_id, bool) or not 0 < stream_id < 2**63:
        raise InvalidInput("'stream_id' must be a stream's id", field="stream_id")
    return stream_id
