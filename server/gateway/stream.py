"""One user's event stream delivered to one socket: each sequence number once, in order.

Events reach a socket two ways: live from the bus, and read back from the
database (``user_events``). The bus may deliver late, twice (a replay and the
live copy of the same event) or out of order (two transactions' after-commit
publishes race), and loses messages while Redis is down. So the cursor keeps
the last number it delivered and:

- drops anything at or below it (a duplicate);
- delivers ``last + 1`` at once;
- holds anything further ahead and *catches up*: reads every stored event
  above ``last`` from the database, page by page, then releases what it held.

Catching up is also how a socket starts (the replay after ``hello``), so
resume, gap filling and recovery after a bus outage are one code path. The
database is always complete up to any number the bus announces, because an
event is published only after the transaction that numbered it committed,
and a user's numbers are handed out under a row lock, in commit order.

Except for what was pruned (server/gateway/pruning.py: a prefix of the
stream, up to its watermark). A socket whose next number is no longer stored
(its device resumed from below the watermark, or pruning overtook a slow
replay) is never left with a silent gap: it is sent ``{"type": "resync",
"reason", "user_seq"}`` and continues from the stream's present position;
the device reloads its state (server/web/static/live.js). The reason is
``pruned`` when the watermark says so, ``missing`` for a gap nothing
explains. A device at 0 has seen nothing, so nothing is missing for it: its
replay starts at the oldest event kept.

Cost: a live event is one dict lookup and one transport write per socket; a gap
costs one indexed range query per page (primary key ``(user_id, seq)``).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import func, select

from server.db import Database, Transaction
from server.gateway.frames import CLOSE_INTERNAL, CLOSE_UNAUTHENTICATED, Frame, event_frame, event_frame_tail, resync_frame
from server.gateway.models import UserEvent, UserStream, UserStreamWatermark
from server.i18n import _

if TYPE_CHECKING:
    from server.gateway.hub import Connection

log = logging.getLogger("muster.gateway")

REPLAY_PAGE = 200
_POSITIONS_CHUNK = 5000


class HeldEvent(NamedTuple):
    frame: Frame
    revoked_sessions: Collection[int]


def revoked_sessions(event_type: str, data: dict) -> Collection[int]:
    """The device sessions a ``session.revoked`` event ends: their sockets close after hearing it."""
    if event_type != "session.revoked":
        return ()
    ids = data.get("session_ids", ())
    return frozenset(ids) if isinstance(ids, list) else ()


async def load_events_after(db: Database, user_id: int, after_seq: int, limit: int) -> Sequence[UserEvent]:
    async with db.transaction() as tx:
        return await events_after(tx, user_id, after_seq, limit)


async def events_after(tx: Transaction, user_id: int, after_seq: int, limit: int) -> Sequence[UserEvent]:
    """Up to ``limit`` stored events of a user above ``after_seq``: one range of the primary key."""
    rows = await tx.session.scalars(
        select(UserEvent).where(UserEvent.user_id == user_id, UserEvent.seq > after_seq).order_by(UserEvent.seq).limit(limit)
    )
    return rows.all()


class StreamState(NamedTuple):
    last_seq: int  # the stream's position: its newest event's number
    pruned_through: int  # every event at or below this may be gone (0: none was pruned)


async def stream_state(tx: Transaction, user_id: int) -> StreamState:
    """Where a user's stream is, and how far it was pruned: one primary-key lookup of each table."""
    row = (await tx.session.execute(
        select(UserStream.last_seq, func.coalesce(UserStreamWatermark.pruned_through, 0))
        .outerjoin(UserStreamWatermark, UserStreamWatermark.user_id == UserStream.user_id)
        .where(UserStream.user_id == user_id)
    )).first()
    return StreamState(*row) if row is not None else StreamState(0, 0)


async def stream_positions(db: Database, user_ids: Collection[int]) -> dict[int, int]:
    """``{user_id: last_seq}`` of the users that have a stream; one query per 5,000 users."""
    users = sorted(user_ids)
    positions: dict[int, int] = {}
    async with db.transaction() as tx:
        for start in range(0, len(users), _POSITIONS_CHUNK):
            chunk = users[start : start + _POSITIONS_CHUNK]
            result = await tx.session.execute(select(UserStream.user_id, UserStream.last_seq).where(UserStream.user_id.in_(chunk)))
            positions.update(dict(result.all()))
    return positions


class StreamCursor:
    """Where one socket is in its user's stream. Starts catching up: live events are held until ``catch_up`` ran."""

    __slots__ = ("last_seq", "_db", "_connection", "_page", "_hold_limit", "_held", "_dropped_held", "_catching_up", "_task", "_read",
                 "_resync")

    def __init__(self, db: Database, connection: "Connection", *, after_seq: int, hold_limit: int, resync: str | None = None) -> None:
        self.last_seq = after_seq
        self._resync = resync  # the hello found the device below the watermark: tell it first (``catch_up``)
        self._db = db
        self._connection = connection
        self._page = max(1, min(REPLAY_PAGE, hold_limit // 2))
        self._hold_limit = hold_limit
        self._held: dict[int, HeldEvent] = {}
        self._dropped_held = False
        self._catching_up = True
        self._task: asyncio.Task | None = None
        self._read: Sequence[UserEvent] | None = None  # the first page, read in the hello's transaction (``read_first_page``)

    async def read_first_page(self, tx: Transaction) -> None:
        """Read the first page of the replay in the caller's transaction (a hello's: its socket is registered by
        then, so an event committed after this read reaches it live). ``catch_up`` starts from it."""
        self._read = await events_after(tx, self._connection.user_id, self.last_seq, self._page)

    def offer(self, seq: int, frame: Frame, revoked: Collection[int]) -> None:
        """A live event from the bus (called synchronously by the hub)."""
        if seq <= self.last_seq:
            return
        if self._catching_up or seq != self.last_seq + 1:
            self._hold(seq, HeldEvent(frame, revoked))
            self.catch_up_soon()
            return
        self._deliver(seq, frame, revoked)

    def catch_up_soon(self) -> None:
        """Catch up in the background (a gap, a bus reconnect) unless catching up already."""
        if not self._catching_up:
            self._catching_up = True
            self._task = asyncio.get_running_loop().create_task(self._catch_up_in_background())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def catch_up(self) -> None:
        """Deliver every stored event above ``last_seq``, then what was held; returns when in step with the bus.

        The socket's handler awaits this once after ``hello`` (the replay);
        later gaps run it in the background through ``catch_up_soon``.

        Before each event it waits for the transport to fall below its
        high-water mark, so a replay of thousands of events holds at most a
        page in memory and never counts as a slow reader. Held live events beyond ``hold_limit`` are dropped and
        read back from the database instead.
        """
        self._catching_up = True
        try:
            if self._resync is not None:
                self._connection.send(resync_frame(self._resync, self.last_seq))
                self._resync = None
            while True:
                self._dropped_held = False
                read_any = await self._replay_stored()
                if self._connection.closed:
                    return
                self._release_held()
                if self._dropped_held:
                    continue
                if self._held and not read_any:
                    # The database has no events for the gap: they were pruned meanwhile. Never skip it silently.
                    await self._tell_resync()
                    for seq in sorted(self._held):
                        held = self._held.pop(seq)
                        if seq > self.last_seq:
                            self._deliver(seq, held.frame, held.revoked_sessions)
                if not self._held:
                    return
        finally:
            self._catching_up = False

    async def _catch_up_in_background(self) -> None:
        try:
            await self.catch_up()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("user %s: could not read the event stream", self._connection.user_id)
            self._connection.close(CLOSE_INTERNAL, _("could not read the event stream; reconnect"))
        finally:
            self._task = None

    async def _replay_stored(self) -> bool:
        read_any = False
        while not self._connection.closed:
            events, self._read = self._read, None
            if events is None:
                events = await load_events_after(self._db, self._connection.user_id, self.last_seq, self._page)
            if events and events[0].seq > self.last_seq + 1:
                if self.last_seq > 0:  # events this device has not seen are gone
                    await self._tell_resync()
                    continue
                self.last_seq = events[0].seq - 1  # a device at 0 has nothing to miss: it starts at the oldest kept
            for event in events:
                if not await self._connection.wait_flushed():
                    return read_any
                if event.seq > self.last_seq:
                    read_any = True
                    frame = event_frame(event.seq, event_frame_tail(event.type, event.data, event.created_at.isoformat()))
                    self._deliver(event.seq, frame, revoked_sessions(event.type, event.data))
            if len(events) < self._page:
                break
        return read_any

    async def _tell_resync(self) -> None:
        """The next event this socket needs is not stored: send ``resync`` and go on from the stream's position."""
        async with self._db.transaction() as tx:
            state = await stream_state(tx, self._connection.user_id)
        reason = "pruned" if self.last_seq < state.pruned_through else "missing"
        if reason == "missing":
            log.warning("user %s: stream gap after seq %s not in the database and not pruned", self._connection.user_id, self.last_seq)
        self.last_seq = max(self.last_seq, state.last_seq)
        self._connection.send(resync_frame(reason, self.last_seq))

    def _hold(self, seq: int, event: HeldEvent) -> None:
        if len(self._held) >= self._hold_limit:
            self._held.clear()
            self._dropped_held = True
        else:
            self._held[seq] = event

    def _release_held(self) -> None:
        for seq in sorted(self._held):
            if seq <= self.last_seq:
                del self._held[seq]
            elif seq == self.last_seq + 1:
                held = self._held.pop(seq)
                self._deliver(seq, held.frame, held.revoked_sessions)
            else:
                break

    def _deliver(self, seq: int, frame: Frame, revoked: Collection[int]) -> None:
        self.last_seq = seq
        self._connection.send(frame)
        if self._connection.session_id in revoked:
            self._connection.close(CLOSE_UNAUTHENTICATED, _("this session was signed out"))
