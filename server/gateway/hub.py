"""The hub: this node's open device sockets, by user, and what reaches them.

Every node subscribes once to the bus channel ``user-events``. A message names
the recipients and their sequence numbers; the hub looks each one up in its
``user_id -> connections`` map, so the cost on a node is proportional to the
recipients connected *to that node*, and the event's data is JSON-encoded
once per message, not once per socket.

A ``Connection`` never lets a slow device slow anyone else, and costs no
task while idle: ``send`` writes one whole WebSocket message straight to the
socket's transport and returns (nothing awaits). aiohttp's own writer (pings,
pongs, the close frame) also writes synchronously to the same transport, so
frames leave in the order they were written. What the kernel does not take
waits in the transport's buffer; when that buffer is already over
``MUSTER_WS_SEND_BUFFER_KB`` the device is not reading and it is disconnected
(4008); it resumes from its last sequence number when it comes back. Memory
per socket is therefore bounded by that limit plus one message.

Fan-out (``send_to_users``) writes the one message to all the sockets in one
call to C (``_fanout.c``): ``send(2)`` on each socket whose transport holds
nothing unsent, with the GIL released and the sockets split over
``MUSTER_WS_SEND_THREADS`` threads while the event loop waits; the others,
and whatever a kernel did not take, go through ``send_message`` as above, so
the order on each socket and the slow-reader limit are the same.

Heartbeat: one task per node, not a timer per socket. Every half
``MUSTER_WS_HEARTBEAT_S`` it walks the sockets: one that sent nothing since
the last round gets a ping (the same two bytes for all), one that left the
previous round's ping unanswered is dropped. A live quiet socket is thus
pinged once per period and a silent one is gone within 1.5 periods, as
with aiohttp's per-socket heartbeat, without its timer handles and ping
task per socket. Sockets still replaying are not pinged (nothing reads their
pongs yet); a replay stuck on a device that stopped reading is cut off by
``wait_flushed`` instead.

Garbage collection: thousands of sockets are a million or so objects that
live for hours, and a full collection walks all of them (about a second at
10,000 sockets, during which no frame moves). The heartbeat task therefore
freezes them (``gc.freeze``: later collections skip them) once a thousand
sockets opened since the last freeze. Frozen objects are still freed by
reference counting; only cycles among those of closed sockets wait, until
half of the frozen sockets have closed: then one full collection runs at
that moment and what lives is frozen again.

For capabilities (groups, rooms, notify): ``send_to_users`` (local sockets
only; cross-node delivery goes through ``emit`` or their own bus channel),
``local_connections``, ``local_user_ids``, ``on(frame_type, handler, cost=)``
for frames devices send, and ``on_connect``/``on_disconnect`` hooks.

Client frames are paid for from token buckets per socket and per user on
this node (``budgets.py``) before anything else is done with them; the
fan-out above pays nothing.
"""
from __future__ import annotations

import asyncio
import gc
import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, KeysView
from typing import Any

from aiohttp import WSMessage, WSMsgType, web
from aiohttp.abc import AbstractStreamWriter

from server.accounts.auth import Principal
from server.bus import Bus
from server.config import Settings
from server.db import Database
from server.errors import MusterError
from server.i18n import _, translate
from server.gateway import _fanout
from server.gateway.budgets import FrameBudget, TokenBucket, Verdict
from server.gateway.events import USER_EVENTS_CHANNEL
from server.gateway.frames import (
    CLOSE_FLOODING,
    CLOSE_GOING_AWAY,
    CLOSE_SLOW_READER,
    PING_MESSAGE,
    Frame,
    close_reason,
    error_frame,
    event_frame,
    event_frame_tail,
    text_message,
)
from server.gateway.stream import StreamCursor, revoked_sessions, stream_positions
from server.observability import WS_CONNECTIONS, WS_FLOOD_CLOSED, WS_FRAMES, WS_FRAMES_REFUSED, WS_SLOW_CLOSED

log = logging.getLogger("muster.gateway")

FrameHandler = Callable[["Connection", dict[str, Any]], Awaitable[None] | None]
ConnectionHook = Callable[["Connection"], Awaitable[None] | None]

RESERVED_FRAME_TYPES = frozenset({"hello", "ping"})
FRAME_COST = 1  # what a frame costs unless its handler says more: ping, a bad frame, one answered to its sender only
_CLOSE_HANDSHAKE_S = 2.0
_CLOSING = frozenset({WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED})
_FREEZE_EVERY = 1000  # sockets opened since the last gc.freeze


class Connection:
    """One device's socket: who it is, its place in the user's stream, and the transport its frames go to."""

    __slots__ = (
        "principal", "user_id", "session_id", "closed", "cursor", "serving", "heard", "fd", "budget",
        "_pinged", "_ws", "_request", "_writer", "_transport", "_buffer_limit", "_stall_s", "_close_with", "_receiver",
    )

    def __init__(
        self,
        ws: web.WebSocketResponse,
        request: web.Request,
        writer: AbstractStreamWriter,
        principal: Principal,
        *,
        db: Database,
        hold_limit: int,
        buffer_limit: int,
        stall_s: float,
        after_seq: int,
        resync: str | None = None,
    ) -> None:
        self.principal = principal
        self.user_id = principal.user_id
        self.session_id = principal.session_id
        self.cursor = StreamCursor(db, self, after_seq=after_seq, hold_limit=hold_limit, resync=resync)
        self._ws = ws
        self._request = request
        self._writer = writer  # what ws.prepare() returned: its drain() waits for the transport to resume writing
        self._transport = request.transport
        self.closed = self._transport is None
        self.fd = self._direct_fd()
        self._buffer_limit = buffer_limit
        self._stall_s = stall_s  # how long a replay may wait on a device that does not read
        self._close_with: tuple[int, str] | None = None  # the close this side started, done by the handler
        self._receiver: asyncio.Task | None = None  # the handler, while it waits for a client frame
        self.serving = False  # set once its handler reads client frames: only then is it pinged
        self.heard = False  # a frame came in since the last heartbeat round (set by the handler)
        self.budget: FrameBudget | None = None  # what it may still send (set by ``Hub.register``)
        self._pinged = False

    def __repr__(self) -> str:
        return f"<Connection user={self.user_id} session={self.session_id}>"

    @property
    def locale(self) -> str:
        """The language of its error frames: the person's chosen one, else English."""
        return self.principal.locale or "en"

    def _direct_fd(self) -> int:
        """The descriptor ``_fanout.c`` may write to; -1 for none: under TLS the socket carries ciphertext."""
        if self.closed or self._transport.get_extra_info("ssl_object") is not None:
            return -1
        return self._transport.get_extra_info("socket").fileno()

    def send(self, frame: Frame) -> bool:
        """Send one frame; never waits. False if the socket is closed (or was just closed as a slow reader)."""
        if self.send_message(text_message(frame)):
            WS_FRAMES.inc()
            return True
        return False

    def send_message(self, message: bytes, taken: int = 0) -> bool:
        """Write a whole WebSocket message (``text_message``) to the transport; the same bytes may go to many sockets.

        ``taken``: how many of its bytes ``_fanout.send`` already wrote to the socket; the rest must follow.
        """
        transport = self._transport
        if taken:
            transport.write(message[taken:])
            return True
        if self.closed or transport.is_closing() or self._ws.closed:
            self.closed = True
            return False
        if transport.get_write_buffer_size() > self._buffer_limit:
            self._close_slow_reader()
            return False
        transport.write(message)
        return True

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already sent: the close frame follows them on the same transport.

        ``reason``: a msgid (``_("...")``), sent in the person's language.

        Nothing is sent after this. The socket's handler does the close
        handshake (``finish``), woken if it was waiting for a client frame:
        aiohttp's ``close()`` from another task drops the TCP connection right
        after the close frame, and a device that had not read it yet would
        lose it and see 1006 instead of this code.
        """
        if not self.closed:
            self.closed = True
            self._close_with = (code, reason)
            if self._receiver is not None:
                self._receiver.cancel()

    async def receive(self) -> WSMessage | None:
        """The device's next frame; None once the socket is closing, from either side."""
        if self.closed:
            return None
        self._receiver = receiver = asyncio.current_task()
        try:
            message = await self._ws.receive()
        except asyncio.CancelledError:
            if self._close_with is None:  # not woken by close()
                raise
            receiver.uncancel()  # close() woke the handler to do the handshake
            return None
        finally:
            self._receiver = None
        return None if message.type in _CLOSING else message

    async def finish(self) -> None:
        """The handler is done reading: do the close this side started (revoked session, slow reader, shutdown).

        In the handler's task, before it returns: aiohttp closes a socket
        whose handler returned with its own code, and the device would not
        learn why. A device that does not answer within the handshake time
        has its TCP connection dropped.
        """
        if self._close_with is None or self._ws.closed:
            return
        code, reason = self._close_with
        try:
            await asyncio.wait_for(self._ws.close(code=code, message=close_reason(self.locale, reason)), _CLOSE_HANDSHAKE_S)
        except (asyncio.TimeoutError, ConnectionError):
            self._abort_lingering_transport()

    async def wait_flushed(self) -> bool:
        """Wait until the transport is below its high-water mark again; False if the socket closed first.

        Rechecks the socket every second. A device that read nothing for
        ``stall_s`` (what the heartbeat allows a silent device) stopped reading
        during its replay: it is dropped like one that misses heartbeats.
        """
        protocol = self._request.protocol
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self._stall_s
        while protocol.writing_paused and not self.closed and not self._ws.closed:
            try:
                await asyncio.wait_for(self._writer.drain(), min(1.0, self._stall_s))
            except asyncio.TimeoutError:
                if loop.time() >= give_up_at:
                    self._drop()
            except ConnectionError:
                break
        if not self.closed and (self._ws.closed or self._transport.is_closing()):
            self.closed = True
        return not self.closed

    def heartbeat(self) -> None:
        """One heartbeat round (``Hub``): ping the socket if it was quiet, drop it if it left the last ping unanswered."""
        if self.closed or not self.serving:
            return
        if self.heard:
            self.heard = self._pinged = False
        elif not self._pinged:
            self._pinged = self.send_message(PING_MESSAGE)
        else:
            self._drop()

    def stop(self) -> None:
        """The socket's handler is done: stop catching up, and drop the TCP connection if it lingers.

        A socket closed while its peer does not read keeps unsent bytes in the
        transport, which then never finishes closing; after the time a close
        handshake may take, such a transport is aborted.
        """
        self.closed = True
        self.cursor.stop()
        asyncio.get_running_loop().call_later(_CLOSE_HANDSHAKE_S, self._abort_lingering_transport)

    def _abort_lingering_transport(self) -> None:
        """Drop a transport still open: aborted if it holds unsent bytes, else closed, since a reset
        could make the device discard the close frame it has not read yet."""
        transport = self._request.transport  # None once the connection is really gone
        if transport is None:
            return
        if transport.get_write_buffer_size():
            transport.abort()
        else:
            transport.close()

    def _drop(self) -> None:
        """The device does not read or answer: no close handshake (its close frame would never be
        read), the TCP connection goes, as with aiohttp's heartbeat. The handler's read then ends."""
        self.closed = True
        self._abort_lingering_transport()

    def _close_slow_reader(self) -> None:
        WS_SLOW_CLOSED.inc()
        self.close(CLOSE_SLOW_READER, _("slow reader: reconnect and resume"))


class Hub:
    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings
        self._heartbeat: asyncio.Task | None = None
        self._frozen = self._opened_since_freeze = self._closed_since_freeze = 0
        self._connections: dict[int, tuple[Connection, ...]] = {}  # tuples: most users have one or two devices
        self._frame_handlers: dict[str, tuple[FrameHandler, int]] = {}  # type -> (handler, cost)
        self._user_buckets: dict[int, TokenBucket] = {}  # kept past a user's last socket until refilled: reconnecting buys nothing
        self._connect_hooks: list[ConnectionHook] = []
        self._disconnect_hooks: list[ConnectionHook] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._background: set[asyncio.Task] = set()

    # --- what capabilities use -------------------------------------------------

    def local_connections(self, user_id: int) -> frozenset[Connection]:
        return frozenset(self._connections.get(user_id, ()))

    def local_user_ids(self) -> KeysView[int]:
        """A live view of the users with a socket on this node; copy it before awaiting while iterating."""
        return self._connections.keys()

    def send_to_users(self, user_ids: Iterable[int], frame: Frame) -> int:
        """Write the same message bytes, built once, to every local socket of these users; returns how many sockets."""
        message = text_message(frame)
        sent, rest = _fanout.send(message, user_ids, self._connections, self._settings.ws_send_threads)
        for connection, taken in rest:
            sent += connection.send_message(message, taken)
        WS_FRAMES.inc(sent)
        return sent

    def on(self, frame_type: str, handler: FrameHandler, *, cost: int = FRAME_COST) -> None:
        """Route client frames ``{"type": frame_type, ...}`` to ``handler(connection, message)``.

        A handler may raise a ``MusterError``: the device gets an error frame and the socket stays open.
        ``cost``: tokens the frame takes from its sender's budgets (``budgets.py``); more than
        ``FRAME_COST`` for a frame sent on to others or one that makes the server work.
        """
        if frame_type in RESERVED_FRAME_TYPES or frame_type in self._frame_handlers:
            raise ValueError(f"frame type {frame_type!r} already has a handler")
        if not FRAME_COST <= cost <= min(self._settings.ws_frame_burst, self._settings.ws_user_frame_burst):
            raise ValueError(f"frame type {frame_type!r}: a cost of {cost} could never be paid")
        self._frame_handlers[frame_type] = (handler, cost)

    def frame_types(self) -> list[str]:
        """Every frame type a device may send (besides ``hello`` and ``ping``), with a handler: what the role matrix and fuzzers walk."""
        return sorted(self._frame_handlers)

    def admit(self, connection: Connection, frame_type: str | None = None, ref: Any = None) -> bool:
        """Charge one client frame to its socket's and user's budgets; False if it is refused.

        A refused frame gets a ``rate_limited`` error frame; a socket flooding past refusals is closed (4029).
        """
        entry = self._frame_handlers.get(frame_type) if frame_type is not None else None
        verdict = connection.budget.charge(entry[1] if entry is not None else FRAME_COST)
        if verdict is Verdict.ACCEPTED:
            return True
        WS_FRAMES_REFUSED.inc()
        if verdict is Verdict.REFUSED:
            connection.send(error_frame("rate_limited", translate(connection.locale, "too many frames: this one was dropped; slow down and send it again"), ref))
        else:
            WS_FLOOD_CLOSED.inc()
            connection.close(CLOSE_FLOODING, _("too many frames after being told to slow down"))
        return False

    def on_connect(self, hook: ConnectionHook) -> None:
        """Called once a socket is live (after ``ready``)."""
        self._connect_hooks.append(hook)

    def on_disconnect(self, hook: ConnectionHook) -> None:
        """Called when a socket is gone, whatever the reason."""
        self._disconnect_hooks.append(hook)

    # --- lifecycle -------------------------------------------------------------

    def attach(self, bus: Bus) -> None:
        self._unsubscribe = bus.subscribe(USER_EVENTS_CHANNEL, self._on_user_events)
        bus.on_reconnect(self._resync_after_bus_outage)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._heartbeat is not None:
            self._heartbeat.cancel()

    def register(self, connection: Connection) -> None:
        """Start receiving live events for this socket (held by its cursor until it caught up)."""
        settings, now = self._settings, time.monotonic()
        user_bucket = self._user_buckets.get(connection.user_id)
        if user_bucket is None:
            user_bucket = self._user_buckets[connection.user_id] = TokenBucket(settings.ws_user_frame_rate, settings.ws_user_frame_burst, now)
        connection.budget = FrameBudget(TokenBucket(settings.ws_frame_rate, settings.ws_frame_burst, now), user_bucket, settings.ws_flood_refusals, now)
        self._connections[connection.user_id] = (*self._connections.get(connection.user_id, ()), connection)
        WS_CONNECTIONS.inc()
        self._opened_since_freeze += 1
        if self._heartbeat is None:
            self._heartbeat = asyncio.get_running_loop().create_task(self._heartbeat_while_connected())

    async def unregister(self, connection: Connection) -> None:
        connections = self._connections.get(connection.user_id, ())
        if connection not in connections:
            return
        others = tuple(c for c in connections if c is not connection)
        if others:
            self._connections[connection.user_id] = others
        else:
            del self._connections[connection.user_id]
        WS_CONNECTIONS.dec()
        self._closed_since_freeze += 1
        connection.stop()
        await self._run_hooks(self._disconnect_hooks, connection)

    async def connected(self, connection: Connection) -> None:
        await self._run_hooks(self._connect_hooks, connection)

    async def dispatch(self, connection: Connection, message: dict[str, Any]) -> None:
        """A client frame other than ``hello``/``ping``: to the capability that registered its type."""
        frame_type = message.get("type")
        ref = message.get("ref")
        entry = self._frame_handlers.get(frame_type) if isinstance(frame_type, str) else None
        if entry is None:
            connection.send(error_frame("unknown_type", translate(connection.locale, "unknown frame type {frame_type!r}", frame_type=frame_type), ref))
            return
        handler = entry[0]
        try:
            result = handler(connection, message)
            if inspect.isawaitable(result):
                await result
        except MusterError as e:
            connection.send(error_frame(e.code, e.as_json(connection.locale)["error"]["message"], ref))
        except Exception:
            log.exception("handler of frame type %s failed", frame_type)
            connection.send(error_frame("internal", translate(connection.locale, "the server could not handle this frame"), ref))

    def close_all(self, code: int = CLOSE_GOING_AWAY, reason: str = _("server shutting down")) -> None:
        for connections in list(self._connections.values()):
            for connection in connections:
                connection.close(code, reason)

    # --- delivery --------------------------------------------------------------

    def _on_user_events(self, payload: bytes) -> None:
        message = json.loads(payload)
        local = [(user_id, seq) for user_id, seq in message["users"] if user_id in self._connections]
        if not local:
            return
        event_type, data = message["type"], message["data"]
        tail = event_frame_tail(event_type, data, message["at"])
        revoked = revoked_sessions(event_type, data)
        for user_id, seq in local:
            frame = event_frame(seq, tail)
            for connection in self._connections.get(user_id, ()):
                connection.cursor.offer(seq, frame, revoked)

    def _resync_after_bus_outage(self) -> None:
        task = asyncio.get_running_loop().create_task(self._catch_up_lagging())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _catch_up_lagging(self) -> None:
        """After a bus outage: one query per 5,000 local users finds the sockets that missed events."""
        positions = await stream_positions(self._db, list(self._connections))
        for user_id, last_seq in positions.items():
            for connection in self._connections.get(user_id, ()):
                if connection.cursor.last_seq < last_seq:
                    connection.cursor.catch_up_soon()

    async def _heartbeat_while_connected(self) -> None:
        """The node's one heartbeat task; it ends when the last socket is gone (``register`` starts it again)."""
        try:
            while self._connections:
                await asyncio.sleep(self._settings.ws_heartbeat_s / 2)
                for connections in list(self._connections.values()):
                    for connection in connections:
                        connection.heartbeat()
                self._forget_refilled_users()
                self._freeze_long_lived()
        finally:
            self._heartbeat = None

    def _forget_refilled_users(self) -> None:
        """Drop the buckets of users with no socket here once full again: a new one would be the same."""
        now = time.monotonic()
        gone = [user_id for user_id, bucket in self._user_buckets.items() if user_id not in self._connections and bucket.full(now)]
        for user_id in gone:
            del self._user_buckets[user_id]

    def _freeze_long_lived(self) -> None:
        """Keep the sockets' objects out of full collections (see the module docstring)."""
        if self._closed_since_freeze > max(_FREEZE_EVERY, self._frozen // 2):
            gc.unfreeze()
            gc.collect()
        elif self._opened_since_freeze < _FREEZE_EVERY:
            return
        gc.freeze()
        self._frozen = sum(map(len, self._connections.values()))
        self._opened_since_freeze = self._closed_since_freeze = 0

    @staticmethod
    async def _run_hooks(hooks: Collection[ConnectionHook], connection: Connection) -> None:
        for hook in hooks:
            try:
                result = hook(connection)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("connection hook %r failed", hook)
