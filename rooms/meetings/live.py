"""Meetings live on this node: seats, lobby, host commands and media signalling over the device WebSocket.

A meeting's live state and its media are held by one node (``meetings.hosting_node``),
which renews its lease on it (``hosting_seen_at``) while it lives; a ``meeting.join``
frame reaching another node is refused with the name of the hosting node, unless
that node's lease ran out (it died), when the meeting moves here. nginx routes
a meeting's sockets to one node by its id (deploy/nginx.conf).
A seat is a device session (a person on two devices has two seats): a second
socket of the same session that joins takes the seat over, and the first socket's
seat, media included, is closed before it does (``meeting.replaced``), so nothing
that sends or receives media is missing from the list the host sees. A socket that
goes away (closed, or missed heartbeat) leaves at once; a media connection
that fails, or sends nothing for ``media_timeout_s``, leaves too, and everyone
left is told. Host mute and stop video hold the track in the SFU; recording
(``meeting.record``) runs in a media worker (``rooms/recording``).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from sqlalchemy import select, update

from rooms.config import RoomsSettings
from rooms.leases import keep_renewing
from rooms.media.offer import MAX_MEDIA_SECTIONS, OfferError, candidate_address, check_offer_bounds, drop_unpairable_candidates, pairable
from rooms.media.router import LocalRouter, MediaRouter
from rooms.meetings import meetings as m
from rooms.meetings.ice import ice_servers
from rooms.meetings.recordings import do_finish_recording_file, do_start_recording_file
from rooms.models import Meeting, MeetingParticipant, MeetingRecording
from server.audit.record import do_audit
from server.config import Settings
from server.db import Database, utcnow
from server.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound
from server.i18n import _
from server.gateway.frames import encode_frame

log = logging.getLogger("muster.rooms")

HOSTS = ("host", "cohost")
MAX_TILE_PIXELS = 8192  # a tile's width or height as the page measures it (device pixels)
HOST_COMMANDS = ("admit", "deny", "mute", "stop_video", "remove", "lock", "end", "cohost", "record")
STATE_KEYS = ("audio", "video", "screen", "hand")
# Tokens a frame takes from its sender's budgets (server/gateway/budgets.py; a socket earns 20 a second, saves up to 200):
# more for what goes to everyone in the meeting, writes rows or makes the SFU work; 1 for the rest (ICE candidates, leave).
FRAME_COSTS = {"join": 10, "offer": 10, "chat": 20, "reaction": 5, "state": 5, "tiles": 2, "record": 20, **{name: 5 for name in HOST_COMMANDS if name != "record"}}


@dataclass(eq=False)
class Seat:
    pid: str
    connection: object
    user_id: int
    name: str
    role: str
    state: dict = field(default_factory=lambda: {"audio": True, "video": True, "screen": False, "hand": False})
    admitted: bool = False
    media: object = None
    history_id: int | None = None
    held: set = field(default_factory=set)  # "audio"/"video" the host turned off; the SFU drops them until the participant turns them on

    def public(self) -> dict:
        return {"id": self.pid, "user_id": self.user_id, "name": self.name, "role": self.role, **self.state}


class Live:
    def __init__(self, meeting: Meeting, room) -> None:
        self.meeting_id = meeting.id
        self.org_id = meeting.org_id
        self.cap = meeting.cap
        self.locked = meeting.locked
        self.lobby_enabled = meeting.lobby_enabled
        self.room = room
        self.seats: dict[str, Seat] = {}
        self.recording_id: int | None = None
        self.removed: set[int] = set()  # users the host removed: they cannot come back while the meeting is live here
        self.recording_lock = asyncio.Lock()  # one start or stop at a time

    def admitted(self) -> list[Seat]:
        return [s for s in self.seats.values() if s.admitted]

    def hosts(self) -> list[Seat]:
        return [s for s in self.admitted() if s.role in HOSTS]

    def waiting(self) -> list[Seat]:
        return [s for s in self.seats.values() if not s.admitted]

    def send(self, seats, frame: dict) -> None:
        data = encode_frame(frame)
        for seat in seats:
            seat.connection.send(data)

    def tell_all(self, frame: dict) -> None:
        self.send(self.admitted(), frame)


class LiveMeetings:
    def __init__(self, db: Database, settings: RoomsSettings, platform: Settings) -> None:
        self.db = db
        self.platform = platform  # where recordings are stored: the platform's files
        self.settings = settings
        self.secret_key = platform.secret_key
        self.node = platform.node_name
        self.router: MediaRouter | None = None
        self.meetings: dict[int, Live] = {}
        self.seat_of: dict[object, tuple[Live, Seat]] = {}
        self._stopping = asyncio.Event()
        self._lease_task: asyncio.Task | None = None

    async def start(self) -> None:
        self._lease_task = asyncio.get_running_loop().create_task(self._keep_hosting())
        if self.settings.media_processes:
            from rooms.media.processes import ProcessRouter

            self.router = await ProcessRouter.start(
                self.settings.worker_count(), host_addresses=self.settings.media_addresses, media_timeout=self.settings.media_timeout_s,
            )
        else:
            from rooms.media.transport import restrict_host_addresses

            restrict_host_addresses(self.settings.media_addresses or None)
            self.router = await LocalRouter.start(self.settings.worker_count(), media_timeout=self.settings.media_timeout_s)

    async def stop(self) -> None:
        for meeting_id in list(self.meetings):
            await self.end(meeting_id, "the server is shutting down")
        self._stopping.set()
        if self._lease_task is not None:
            await self._lease_task
        if self.router is not None:
            await self.router.close()
        if not self.settings.media_processes:
            from rooms.media.transport import restrict_host_addresses

            restrict_host_addresses(None)

    async def _keep_hosting(self) -> None:
        """Renew this node's lease on the meetings it hosts, so that only a dead node's meetings move elsewhere."""
        await keep_renewing(self._stopping, self.settings.hosting_lease_s / 3, self._renew_hosting, "its meetings")

    async def _renew_hosting(self) -> None:
        if self.meetings:
            async with self.db.transaction() as tx:
                await m.do_refresh_hosting(tx, list(self.meetings), self.node)

    def attach(self, hub) -> None:
        for name in ("join", "offer", "ice", "tiles", "state", "reaction", "chat", "leave", *HOST_COMMANDS):
            hub.on(f"meeting.{name}", self._handler(name), cost=FRAME_COSTS.get(name, 1))
        hub.on_disconnect(self.disconnected)

    def _handler(self, name: str):
        method = getattr(self, f"on_{name}")

        async def handle(connection, message: dict) -> None:
            if name == "join":
                return await method(connection, message)
            found = self.seat_of.get(connection)
            if found is None:
                raise InvalidInput("join a meeting first (meeting.join)")
            live, seat = found
            if name in HOST_COMMANDS and seat.role not in HOSTS:
                raise Forbidden("only the host or a co-host can {action}", action=name.replace('_', ' '))
            if not seat.admitted and name not in ("leave",):
                raise Forbidden("wait until the host lets you in")
            await method(live, seat, message)

        return handle

    # --- from the REST side --------------------------------------------------------

    def settings_changed(self, meeting_id: int, *, locked: bool, lobby_enabled: bool, cap: int) -> None:
        live = self.meetings.get(meeting_id)
        if live is not None:
            live.locked, live.lobby_enabled, live.cap = locked, lobby_enabled, cap
            live.tell_all({"type": "meeting.settings", "locked": locked, "lobby_enabled": lobby_enabled, "cap": cap})

    async def end(self, meeting_id: int, reason: str) -> None:
        live = self.meetings.get(meeting_id)
        if live is None:
            return
        await self._stop_recording(live)
        live.send(list(live.seats.values()), {"type": "meeting.ended", "reason": reason})
        for seat in list(live.seats.values()):
            await self._drop(live, seat, tell=False)

    # --- joining and leaving --------------------------------------------------------

    async def on_join(self, connection, message: dict) -> None:
        if connection in self.seat_of:
            raise Conflict("this socket is already in a meeting; leave it first")
        meeting_id, role = m.check_ticket(self.secret_key, message.get("ticket"), connection.user_id)
        live = self.meetings.get(meeting_id)
        async with self.db.transaction() as tx:
            org_id = await tx.session.scalar(select(Meeting.org_id).where(Meeting.id == meeting_id))
        if org_id is None:
            raise NotFound("no such meeting")
        async with self.db.transaction(org_id=org_id) as tx:
            meeting = await m.get_meeting(tx, meeting_id)
            if meeting.status == "ended":
                raise Gone("this meeting has ended")
            if role != "guest" and not await m.is_member(tx, connection.user_id):  # removed since the ticket was issued
                raise Forbidden("you are no longer a member of this meeting's organisation", code="removed")
            if live is None:
                if not await m.do_claim_hosting(tx, meeting, self.node, lease_s=self.settings.hosting_lease_s):
                    raise Conflict("this meeting is hosted on node {hosting_node}; connect there", code="wrong_node", hosting_node=meeting.hosting_node)
                live = self.meetings[meeting_id] = Live(meeting, self.router.room(str(meeting_id)))
                live.room.on_event(lambda event, live=live: self._media_event(live, event))
        if connection.user_id in live.removed:
            raise Forbidden("the host removed you from this meeting", code="removed")
        pid = str(connection.session_id)
        returning = pid in live.seats  # this device is in already (a reload, a second tab): not someone new, nor one more
        if live.locked and role not in HOSTS and not returning:
            raise Forbidden("this meeting is locked: the host is not letting anyone new in")
        if len([s for s in live.admitted() if s.pid != pid]) >= live.cap:
            raise Conflict("meeting is full ({cap})", code="meeting_full", cap=live.cap)
        name = str(connection.principal.name)[:100]
        seat = Seat(pid=pid, connection=connection, user_id=connection.user_id, name=name, role=role)
        while (old := live.seats.get(seat.pid)) is not None:  # this device session's other socket: its seat goes first
            live.send([old], {"type": "meeting.replaced", "participant": old.pid, "reason": "this device joined again from another connection"})
            await self._release(live, old, reason="joined again from another connection")
        live.seats[seat.pid] = seat
        self.seat_of[connection] = (live, seat)
        if live.lobby_enabled and role not in HOSTS:
            live.send([seat], {"type": "meeting.lobby", "meeting_id": meeting_id})
            live.send(live.hosts(), {"type": "meeting.waiting", "participant": seat.public()})
        else:
            await self._admit(live, seat)

    async def _admit(self, live: Live, seat: Seat) -> None:
        if len(live.admitted()) >= live.cap:
            raise Conflict("meeting is full ({cap})", code="meeting_full", cap=live.cap)
        seat.admitted = True
        async with self.db.transaction(org_id=live.org_id) as tx:
            row = MeetingParticipant(org_id=live.org_id, meeting_id=live.meeting_id, user_id=seat.user_id, display_name=seat.name, role=seat.role)
            tx.session.add(row)
            await tx.session.flush()
            seat.history_id = row.id
        if live.seats.get(seat.pid) is not seat:  # it left (or was replaced) while the row was written: no media for a seat nobody sees
            await self._close_history(live, seat)
            return
        seat.media = await live.room.add_participant(seat.pid)
        live.send([seat], {
            "type": "meeting.joined", "meeting_id": live.meeting_id, "you": seat.public(),
            "participants": [s.public() for s in live.admitted()], "ice_servers": ice_servers(self.settings, seat.user_id),
            "locked": live.locked, "recording": live.recording_id is not None,
            "waiting": [s.public() for s in live.waiting()] if seat.role in HOSTS else [],
        })
        live.send([s for s in live.admitted() if s is not seat], {"type": "meeting.participant_joined", "participant": seat.public()})

    async def on_leave(self, live: Live, seat: Seat, message: dict) -> None:
        await self._drop(live, seat)

    async def disconnected(self, connection) -> None:
        found = self.seat_of.get(connection)
        if found is not None:
            # The socket's handler may be cancelled as its connection goes (aiohttp's handler_cancellation):
            # the seat is removed and the others told all the same, however long the media worker takes to answer.
            await asyncio.shield(self._drop(*found))

    async def _drop(self, live: Live, seat: Seat, *, tell: bool = True, reason: str = "left") -> None:
        """The seat leaves; the last one out closes the meeting on this node."""
        if live.seats.get(seat.pid) is not seat:
            return
        await self._release(live, seat, tell=tell, reason=reason)
        if not live.seats:
            await self._stop_recording(live)
            self.meetings.pop(live.meeting_id, None)
            live.room.router.rooms.pop(live.room.room_id, None)
            async with self.db.transaction(org_id=live.org_id) as tx:
                await tx.session.execute(update(Meeting).where(Meeting.id == live.meeting_id, Meeting.hosting_node == self.node).values(hosting_node=None))

    async def _release(self, live: Live, seat: Seat, *, tell: bool = True, reason: str) -> None:
        """Take the seat out of the meeting: its media out of the SFU, its history row closed, the others told."""
        live.seats.pop(seat.pid, None)
        self.seat_of.pop(seat.connection, None)
        if seat.media is not None:
            try:
                await seat.media.leave()
            except Exception:
                log.exception("media leave failed for %s", seat.pid)
        await self._close_history(live, seat)
        if tell:  # someone in the lobby is only on the hosts' waiting lists
            live.send(live.admitted() if seat.admitted else live.hosts(), {"type": "meeting.participant_left", "participant": seat.pid, "reason": reason})

    async def _close_history(self, live: Live, seat: Seat) -> None:
        if seat.history_id is not None:
            async with self.db.transaction(org_id=live.org_id) as tx:
                await tx.session.execute(update(MeetingParticipant).where(MeetingParticipant.id == seat.history_id).values(left_at=utcnow()))

    def _media_event(self, live: Live, event: dict) -> None:
        kind = event.get("event")
        if kind == "speaker":
            live.tell_all({"type": "meeting.speaker", "participant": event.get("participant")})
        elif kind == "connection" and event.get("state") == "failed":
            seat = live.seats.get(event.get("participant"))
            if seat is not None:
                live.send([seat], {"type": "error", "error": {"code": "media_failed", "message": "the media connection failed: " + str(event.get("message", ""))}})
                asyncio.get_running_loop().create_task(self._drop(live, seat, reason="connection lost"))
        elif kind == "layout":  # whom each of this seat's video slots shows: the page names its tiles by it
            seat = live.seats.get(event.get("participant"))
            if seat is not None:
                live.send([seat], {"type": "meeting.layout", "slots": event.get("slots", {})})
        elif kind in ("recording_failed", "recording_full"):  # the worker stopped writing (a full disk, the size limit): finish the row, tell everyone
            asyncio.get_running_loop().create_task(self._stop_recording(live))
        elif kind == "error":  # malformed RTP/RTCP from this participant: dropped by the worker, told to the sender only
            seat = live.seats.get(event.get("participant"))
            if seat is not None:
                live.send([seat], {"type": "error", "error": {"code": f"bad_{event.get('kind')}", "message": str(event.get("message", ""))}})

    # --- media signalling -----------------------------------------------------------

    async def on_offer(self, live: Live, seat: Seat, message: dict) -> None:
        sdp, screen_mids = message.get("sdp"), message.get("screen_mids") or []
        if not isinstance(sdp, str) or not sdp:
            raise InvalidInput("meeting.offer needs 'sdp': the offer's SDP text", field="sdp")
        if not isinstance(screen_mids, list) or len(screen_mids) > MAX_MEDIA_SECTIONS or not all(isinstance(x, str) for x in screen_mids):
            raise InvalidInput("screen_mids must be a list of up to {max_media_sections} m-line mids", field="screen_mids", max_media_sections=MAX_MEDIA_SECTIONS)
        try:
            check_offer_bounds(sdp)
            answer = await seat.media.handle_offer(drop_unpairable_candidates(sdp, self.settings.media_addresses), screen_mids)
        except OfferError as e:
            raise InvalidInput("offer refused: {error}", field="sdp", code="bad_offer", error=str(e)) from None
        for kind in seat.held:  # tracks this offer added stay off too
            await seat.media.hold(kind, True)
        live.send([seat], {"type": "meeting.answer", "sdp": answer, "ref": message.get("ref")})

    async def on_ice(self, live: Live, seat: Seat, message: dict) -> None:
        candidate = message.get("candidate")
        if candidate is not None and not isinstance(candidate, str):
            raise InvalidInput("candidate must be a 'candidate:...' string or null", field="candidate")
        address = candidate_address(candidate) if candidate else None
        if address is not None and not pairable(address, self.settings.media_addresses):
            return  # e.g. a browser's other interfaces when the SFU listens on loopback only
        try:
            await seat.media.add_ice_candidate(candidate or None)
        except OfferError as e:
            raise InvalidInput(str(e), field="candidate") from None

    async def on_tiles(self, live: Live, seat: Seat, message: dict) -> None:
        """The size each video slot's tile has on the page, ``{mid: [width, height]}``: the SFU picks simulcast layers by it."""
        tiles = message.get("tiles")
        if not isinstance(tiles, dict) or len(tiles) > MAX_MEDIA_SECTIONS or not all(
            isinstance(mid, str) and len(mid) <= 32 and isinstance(size, list) and len(size) == 2
            and all(type(n) is int and 0 <= n <= MAX_TILE_PIXELS for n in size)
            for mid, size in tiles.items()
        ):
            raise InvalidInput(
                "meeting.tiles needs 'tiles': up to {max_media_sections} slot mids, each with [width, height] in pixels (0-{max_pixels})",
                field="tiles", max_media_sections=MAX_MEDIA_SECTIONS, max_pixels=MAX_TILE_PIXELS,
            )
        await seat.media.tiles(tiles)

    # --- in the meeting -------------------------------------------------------------

    async def on_state(self, live: Live, seat: Seat, message: dict) -> None:
        changes = {k: message[k] for k in STATE_KEYS if k in message}
        if not changes or not all(isinstance(v, bool) for v in changes.values()):
            raise InvalidInput("meeting.state takes true/false for any of {keys}", keys=', '.join(STATE_KEYS))
        seat.state.update(changes)
        for kind in [k for k in ("audio", "video") if changes.get(k) and k in seat.held]:
            seat.held.discard(kind)
            await seat.media.hold(kind, False)
        live.tell_all({"type": "meeting.state", "participant": seat.pid, **seat.state})

    async def on_reaction(self, live: Live, seat: Seat, message: dict) -> None:
        emoji = message.get("emoji")
        if not isinstance(emoji, str) or not 0 < len(emoji) <= 8:
            raise InvalidInput("reaction needs 'emoji' (up to 8 characters)", field="emoji")
        live.tell_all({"type": "meeting.reaction", "participant": seat.pid, "emoji": emoji})

    async def on_chat(self, live: Live, seat: Seat, message: dict) -> None:
        text = message.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > 4000:
            raise InvalidInput("chat needs 'text' (1-4000 characters)", field="text")
        live.tell_all({"type": "meeting.chat", "participant": seat.pid, "name": seat.name, "text": text, "at": utcnow().isoformat()})

    # --- host commands --------------------------------------------------------------

    def _target(self, live: Live, message: dict, *, admitted: bool = True) -> Seat:
        """The seat a host command names: one in the meeting, or with ``admitted=False`` one in the lobby."""
        seat = live.seats.get(str(message.get("participant")))
        if seat is None:
            raise NotFound("no such participant in this meeting", field="participant")
        if seat.admitted != admitted:
            raise Conflict(_("this participant is already in the meeting; use meeting.remove") if seat.admitted
                           else _("this participant is still in the lobby; use meeting.admit or meeting.deny"), code="wrong_place")
        return seat

    async def on_admit(self, live: Live, seat: Seat, message: dict) -> None:
        await self._admit(live, self._target(live, message, admitted=False))

    async def on_deny(self, live: Live, seat: Seat, message: dict) -> None:
        target = self._target(live, message, admitted=False)
        live.send([target], {"type": "meeting.denied", "reason": "the host did not let you in"})
        await self._drop(live, target, reason="not let in")

    async def on_mute(self, live: Live, seat: Seat, message: dict) -> None:
        targets = [self._target(live, message)] if message.get("participant") is not None else [s for s in live.admitted() if s is not seat]
        await asyncio.gather(*(self._hold(target, "audio") for target in targets))
        for target in targets:
            live.send([target], {"type": "meeting.muted_by_host", "by": seat.pid})
            live.tell_all({"type": "meeting.state", "participant": target.pid, **target.state})

    async def on_stop_video(self, live: Live, seat: Seat, message: dict) -> None:
        target = self._target(live, message)
        await self._hold(target, "video")
        live.send([target], {"type": "meeting.video_stopped_by_host", "by": seat.pid})
        live.tell_all({"type": "meeting.state", "participant": target.pid, **target.state})

    async def _hold(self, target: Seat, kind: str) -> None:
        """Turn the target's microphone or camera off in the SFU too, so a client that ignores the request is still silent."""
        target.state[kind] = False
        target.held.add(kind)
        if target.media is not None:
            await target.media.hold(kind, True)

    async def on_remove(self, live: Live, seat: Seat, message: dict) -> None:
        target = self._target(live, message)
        if target is seat:
            raise InvalidInput("to leave the meeting yourself, send meeting.leave", field="participant")
        if target.role == "host" and seat.role != "host":
            raise Forbidden("a co-host cannot remove the host")
        live.removed.add(target.user_id)
        live.send([target], {"type": "meeting.removed", "by": seat.pid})
        await self._drop(live, target, reason="removed by the host")
        async with self.db.transaction(org_id=live.org_id) as tx:
            details = {"user_id": target.user_id, "name": target.name, "role": target.role}
            await do_audit(tx, seat, "meeting.participant_removed", target=("meeting", live.meeting_id), details=details)

    async def on_lock(self, live: Live, seat: Seat, message: dict) -> None:
        locked = message.get("locked")
        if not isinstance(locked, bool):
            raise InvalidInput("meeting.lock needs 'locked': true or false", field="locked")
        async with self.db.transaction(org_id=live.org_id) as tx:
            await tx.session.execute(update(Meeting).where(Meeting.id == live.meeting_id).values(locked=locked))
        self.settings_changed(live.meeting_id, locked=locked, lobby_enabled=live.lobby_enabled, cap=live.cap)

    async def on_end(self, live: Live, seat: Seat, message: dict) -> None:
        async with self.db.transaction(org_id=live.org_id) as tx:
            await m.do_end_meeting(tx, await m.get_meeting(tx, live.meeting_id))
            await do_audit(tx, seat, "meeting.ended", target=("meeting", live.meeting_id))
        await self.end(live.meeting_id, "the host ended the meeting")
        async with self.db.transaction(org_id=live.org_id) as tx:
            await m.do_sign_out_guests(tx, live.meeting_id)

    async def on_cohost(self, live: Live, seat: Seat, message: dict) -> None:
        from rooms.models import MeetingCoHost

        target = self._target(live, message)
        if target.role == "guest":
            raise InvalidInput("guests cannot be co-hosts", field="participant")
        if target.role not in HOSTS:
            async with self.db.transaction(org_id=live.org_id) as tx:
                tx.session.add(MeetingCoHost(org_id=live.org_id, meeting_id=live.meeting_id, user_id=target.user_id))
            target.role = "cohost"
            for waiting in live.waiting():  # a new co-host can let people in too
                live.send([target], {"type": "meeting.waiting", "participant": waiting.public()})
        live.tell_all({"type": "meeting.role", "participant": target.pid, "role": target.role})

    # --- recording ------------------------------------------------------------------

    async def on_record(self, live: Live, seat: Seat, message: dict) -> None:
        recording = message.get("recording")
        if not isinstance(recording, bool):
            raise InvalidInput("meeting.record needs 'recording': true to start, false to stop", field="recording")
        if recording:
            await self._start_recording(live, seat)
        elif not await self._stop_recording(live, by=seat):
            raise Conflict("the meeting is not being recorded", code="not_recording")

    async def _start_recording(self, live: Live, seat: Seat) -> None:
        """A row and its (empty) platform file first, then the worker starts writing, then everyone is told."""
        async with live.recording_lock:
            if live.recording_id is not None:
                raise Conflict("the meeting is already being recorded", code="already_recording")
            async with self.db.transaction(org_id=live.org_id) as tx:
                row = MeetingRecording(org_id=live.org_id, meeting_id=live.meeting_id, started_by=seat.user_id)
                tx.session.add(row)
                await tx.session.flush()
                path = await do_start_recording_file(tx, self.platform, row)
                recording_id = row.id
                await do_audit(tx, seat, "recording.started", target=("recording", row.id), details={"meeting_id": live.meeting_id})
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                await live.room.start_recording(str(path))
            except Exception as exc:
                log.exception("recording %s could not start", recording_id)
                await self._finish_recording(live, recording_id, {"error": f"could not start: {exc}"})
                raise Conflict("the recording could not start on this server; see its log", code="recording_failed") from None
            live.recording_id = recording_id
        live.tell_all({"type": "meeting.recording", "recording": True, "recording_id": recording_id, "by": seat.pid})

    async def _stop_recording(self, live: Live, by: Seat | None = None) -> bool:
        """Finish the file and its row, and tell everyone; False if the meeting was not being recorded."""
        async with live.recording_lock:
            recording_id, live.recording_id = live.recording_id, None
            if recording_id is None:
                return False
            try:
                result = await live.room.stop_recording()
            except Exception as exc:
                log.exception("recording %s could not be finished", recording_id)
                result = {"error": f"could not finish: {exc}"}
            await self._finish_recording(live, recording_id, result)
        live.tell_all({
            "type": "meeting.recording", "recording": False, "recording_id": recording_id, "by": by.pid if by else None,
            "error": result.get("error"), "stopped": result.get("stopped"),
        })
        return True

    async def _finish_recording(self, live: Live, recording_id: int, result: dict) -> None:
        error = result.get("error")
        async with self.db.transaction(org_id=live.org_id) as tx:
            row = await tx.session.get(MeetingRecording, recording_id)
            size = await do_finish_recording_file(tx, self.platform, row, failed=bool(error))
            row.status, row.ended_at, row.error = "failed" if error else "done", utcnow(), str(error)[:500] if error else None
            row.size_bytes, row.video_frames, row.audio_packets = size, result.get("video_frames", 0), result.get("audio_packets", 0)
