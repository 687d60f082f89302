"""A media worker: the packet path from each publisher to the subscribers connected to this worker.

A room's participants are spread over several workers (processes, one per
core by default, see ``rooms/media/processes.py``). Every worker knows every
track of its rooms and receives each packet of each track exactly once:
from the network if the publisher is connected here (``publish``), otherwise
from the fan-out socket of the worker that is (``receive``). The forwarding
decision (which track goes to which slot) is made locally and identically in
every worker from the same audio levels, so no per-packet coordination is
needed between workers.

Hot path per packet (``deliver``): one call into C for all its subscribers
(``rooms/media/_forward.c``): per subscriber the munger's steady state, the
header rewritten, libsrtp ``protect`` in place, one ``send`` on the
subscriber's connected socket.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from aiortc.rtcdtlstransport import RTCCertificate

from rooms.media import rtp, srtp
from rooms.media._forward import forward
from rooms.media.lastn import ScreenShares, SpeakingOrder, select_video
from rooms.media.offer import OfferError
from rooms.media.peer import Peer
from rooms.media.speakers import AUDIBLE_LEVEL, ActiveSpeakers
from rooms.media.track import Track

log = logging.getLogger(__name__)


class RoomState:
    """What one worker knows about one room: all its tracks, its local peers, the selections."""

    def __init__(self, room_id: str, audio_n: int, video_n: int) -> None:
        self.room_id = room_id
        self.video_n = video_n
        self.speakers = ActiveSpeakers(top_n=audio_n)
        self.order = SpeakingOrder()  # participant ids with a camera
        self.screens = ScreenShares()  # screen track ids
        self.audio_of: dict[str, Track] = {}
        self.camera_of: dict[str, Track] = {}
        self.tracks: dict[int, Track] = {}
        self.peers: dict[str, Peer] = {}
        self.recorder = None  # a rooms.recording StageRecorder while the room is recorded
        self.assigned_for: list | None = None  # speakers.selected as of the last _reassign


class Worker:
    def __init__(
        self, index: int, emit: Callable[[dict], None], *, audio_n: int = 3, video_n: int = 9,
        tick: float = 0.2, default_video_bitrate: int = 1_500_000, media_timeout: float = 8.0,
    ) -> None:
        self.index = index
        self.emit = emit  # events for the signalling layer (speaker, error, connection, track)
        self.audio_n = audio_n
        self.video_n = video_n
        self.tick = tick
        self.default_video_bitrate = default_video_bitrate
        self.media_timeout = media_timeout  # a connected peer silent this long (no media, RTCP or STUN) is lost
        self.certificate = RTCCertificate.generateCertificate()
        self.rooms: dict[str, RoomState] = {}
        self.tracks: dict[int, Track] = {}
        self.fanout: Callable[[int, bytes], None] | None = None  # to the other workers
        self.send_to_worker: Callable[[int, dict], None] | None = None
        self.forwarded = 0
        self.retransmitted = 0
        self._next_track = 0
        self._tasks: set[asyncio.Task] = set()
        self._ticker: asyncio.Task | None = None

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        self._ticker = asyncio.get_running_loop().create_task(self._run_ticks())

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        for room in list(self.rooms.values()):
            if room.recorder is not None:
                self.stop_recording(room.room_id)
            for peer in list(room.peers.values()):
                await peer.close()
        for task in list(self._tasks):
            task.cancel()

    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def new_track_id(self) -> int:
        self._next_track += 1
        return (self.index << 24) | self._next_track

    def room(self, room_id: str) -> RoomState:
        room = self.rooms.get(room_id)
        if room is None:
            room = self.rooms[room_id] = RoomState(room_id, self.audio_n, self.video_n)
        return room

    # --- commands from the router -----------------------------------------------------

    async def offer(self, room_id: str, participant_id: str, sdp: str, screen_mids: list[str] = ()) -> dict:
        """Answer a participant's offer (joining on the first one); the new tracks go back to the router."""
        room = self.room(room_id)
        peer = room.peers.get(participant_id)
        created = peer is None
        if created:
            peer = Peer(self, room, participant_id)
        try:
            answer, added, removed = await peer.negotiate(sdp, frozenset(screen_mids))
        except OfferError:
            if created:
                await peer.close()
            raise
        room.peers[participant_id] = peer
        for track in added:
            self._add_track(track)
        for track in removed:
            self.remove_track(track.track_id)
        self._assign(room, peer, time.monotonic())
        return {"answer": answer, "added": [describe(t) for t in added], "removed": [t.track_id for t in removed]}

    async def candidate(self, room_id: str, participant_id: str, candidate) -> None:
        room = self.rooms.get(room_id)
        peer = room.peers.get(participant_id) if room is not None else None
        if peer is None:  # no offer yet: there is no connection for the candidate to belong to
            raise OfferError("send meeting.offer before its ICE candidates")
        await peer.add_candidate(candidate)

    async def leave(self, room_id: str, participant_id: str) -> list[int]:
        room = self.rooms.get(room_id)
        peer = room.peers.pop(participant_id, None) if room else None
        if peer is None:
            return []
        removed = [t.track_id for t in peer.tracks.values()]
        for track_id in removed:
            self.remove_track(track_id)
        await peer.close()
        return removed

    def pin(self, room_id: str, participant_id: str, target: str | None) -> None:
        room = self.rooms.get(room_id)
        peer = room.peers.get(participant_id) if room else None
        if peer is not None:
            peer.pinned = target
            self._assign(room, peer, time.monotonic())

    def start_recording(self, room_id: str, path: str) -> None:
        """Record the room's stage into ``path`` (see rooms/recording/stage.py)."""
        from rooms.recording.stage import StageRecorder  # PyAV is loaded only by workers that record

        room = self.room(room_id)
        if room.recorder is not None:
            raise ValueError("this room is already being recorded")
        room.recorder = StageRecorder(self, room_id, path)
        room.recorder.follow(room)

    def stop_recording(self, room_id: str) -> dict:
        """Finish the room's recording file; returns what was written (empty if it was not recording)."""
        room = self.rooms.get(room_id)
        recorder = room.recorder if room is not None else None
        if recorder is None:
            return {}
        room.recorder = None
        return recorder.close()

    def add_remote_track(self, info: dict) -> None:
        """A track published on another worker: this worker will receive its packets over the fan-out."""
        if info["track_id"] not in self.tracks:
            self._add_track(Track(**info))

    def _add_track(self, track: Track) -> None:
        room = self.room(track.room_id)
        self.tracks[track.track_id] = track
        room.tracks[track.track_id] = track
        if track.screen:
            room.screens.start(track.track_id)
        elif track.kind == "audio":
            room.audio_of[track.owner] = track
            mark_skippable(room)
        else:
            room.camera_of[track.owner] = track
            room.order.add(track.owner)
        self._reassign(room)

    def remove_track(self, track_id: int) -> None:
        track = self.tracks.pop(track_id, None)
        if track is None:
            return
        room = self.rooms[track.room_id]
        room.tracks.pop(track_id, None)
        for slot in list(track.slots):
            slot.show(None)
        if track.screen:
            room.screens.stop(track_id)
        elif track.kind == "audio":
            if room.audio_of.get(track.owner) is track:
                del room.audio_of[track.owner]
                room.speakers.remove(track.owner)
        elif room.camera_of.get(track.owner) is track:
            del room.camera_of[track.owner]
            room.order.remove(track.owner)
        self._reassign(room)

    # --- the packet path --------------------------------------------------------------

    def publish(self, track: Track, data: bytes, header: rtp.RtpHeader) -> None:
        """A packet from a publisher connected to this worker.

        Silent audio of a source that nobody hears is not sent to the other
        workers: in a 300-seat meeting that is nearly all of the audio, and
        a source with no audible packets looks the same to every worker's
        speaker detection whether its silence arrives or not.
        """
        now = time.monotonic()
        share = self.fanout is not None
        if track.audio_level_id:
            level = self._observe(track, data, header, now)
            share = share and (level <= AUDIBLE_LEVEL or track.owner in self.rooms[track.room_id].speakers.selected)
        if share:
            self.fanout(track.track_id, data)
        self.deliver(track, data, header, now)

    def receive(self, track_id: int, data: bytes) -> None:
        """A packet another worker received from its publisher."""
        track = self.tracks.get(track_id)
        if track is None:
            return
        header = rtp.parse_header(data)
        now = time.monotonic()
        if track.audio_level_id:
            self._observe(track, data, header, now)
        self.deliver(track, data, header, now)

    def _observe(self, track: Track, data: bytes, header: rtp.RtpHeader, now: float) -> int:
        """Feed the packet's audio level to speaker detection; return the level (0 if absent: treated as audible)."""
        level = rtp.audio_level(data, header, track.audio_level_id)
        if level is None:
            return 0
        self.rooms[track.room_id].speakers.observe(track.owner, level[1], now)
        return level[1]

    def deliver(self, track: Track, data: bytes, header: rtp.RtpHeader, now: float) -> None:
        """Send the packet to every local slot showing ``track``: the hot loop, once per subscriber.

        The common case (a connected subscriber, same source as its previous
        packet, same extension ids) runs in C, one call for all subscribers
        (``rooms/media/_forward.c``): the munger's steady state, the header
        rewritten in a static buffer, libsrtp protect in place, one ``send``
        on the subscriber's socket. Anything else (a source switch, a video
        slot waiting for a keyframe, a late packet, extension remapping, the
        recorder's slots) takes ``_deliver_slow``.
        """
        seq = header.sequence
        track.count(seq)
        track.cache.store(seq, data)
        if track.parameter_sets is not None:  # H.264: keep its SPS/PPS for slots that start later (h264.py)
            track.parameter_sets.observe(data[header.payload_start : header.payload_end])
        slots = track.slots
        if not slots:
            return
        if len(data) > srtp.FORWARD_LIMIT:
            return  # cannot grow by the SRTP trailer; ingress never yields such packets from an MTU-sized datagram
        sent, slow = forward(slots, data, seq, header.timestamp, track.track_id, now)
        if slow is not None:
            sent += self._deliver_slow(slow, data, header, now, track.track_id)
        self.forwarded += sent

    def _deliver_slow(self, slots: list, data: bytes, header: rtp.RtpHeader, now: float, source_id: int) -> int:
        """The general path of ``deliver``; returns how many packets went to connected subscribers."""
        keyframe = None
        tail = data[12:]  # everything after the fixed header, shared by these subscribers' copies
        sent = 0
        for slot in slots:
            transport = slot.transport
            if transport is not None and transport.egress is None:
                # Not connected yet (or gone): touch nothing. A keyframe taken here would be lost
                # (``send_rtp`` is a no-op until DTLS is up) and the slot would start with interframes;
                # the munger starts the stream at the first packet that can really go out.
                continue
            if slot.waiting_keyframe:
                if keyframe is None:
                    keyframe = slot.source.starts_keyframe(data[header.payload_start : header.payload_end])
                if not keyframe:
                    continue
                slot.waiting_keyframe = False
                lead = slot.source.keyframe_lead(data, header)
                if lead is not None:  # H.264's SPS/PPS, which the slot skipped while it waited
                    packet = slot.packet_for(lead, rtp.parse_header(lead), now, source_id)
                    if packet is not None:
                        slot.send(packet)
            packet = slot.packet_for(data, header, now, source_id, tail)
            if packet is not None:
                slot.send(packet)
                if transport is not None:
                    sent += 1  # counted as forwarded: it went to a connected subscriber (not to the recorder)
        return sent

    def retransmit(self, slot, lost: list[int]) -> None:
        track = slot.source
        if track is None:
            return
        for out_seq in lost:
            source_seq = slot.munger.source_sequence(out_seq)
            data = track.cache.get(source_seq) if source_seq is not None else None
            if data is not None:
                slot.peer.transport.send_rtp(slot.retransmission(data, out_seq))
                self.retransmitted += 1

    def request_keyframe(self, track: Track | None) -> None:
        """Ask the publisher of ``track`` for a keyframe, at most once a second per worker."""
        if track is None or track.kind != "video" or not track.keyframes.allow(time.monotonic()):
            return
        if track.worker == self.index:
            self.keyframe_from_owner(track.track_id, throttled=True)
        elif self.send_to_worker is not None:
            self.send_to_worker(track.worker, {"cmd": "keyframe", "track_id": track.track_id})

    def keyframe_from_owner(self, track_id: int, throttled: bool = False) -> None:
        track = self.tracks.get(track_id)
        if track is None or (not throttled and not track.keyframes.allow(time.monotonic())):
            return
        peer = self.rooms[track.room_id].peers.get(track.owner)
        if peer is not None:
            peer.send_keyframe_request(track)

    def after_connect(self, peer: Peer) -> None:
        """The participant's DTLS is up: its video slots can start, each with a keyframe of its source."""
        for track in peer.tracks.values():
            if track.kind == "video":
                track.keyframes.reset()
        self._ask_keyframes_for_waiting(peer)

    def _ask_keyframes_for_waiting(self, peer: Peer) -> None:
        """Ask (throttled) for a keyframe of every source a connected subscriber's slot waits for.

        Called on connection and at every selection: a keyframe that arrived
        while the subscriber was still connecting was not given to it, and a
        request right after another one is throttled, so the slot asks again
        until one comes (at most once a second per source, ``keyframe.py``).
        """
        if peer.transport.egress is None:
            return
        for slot in peer.slots.values():
            if slot.waiting_keyframe:
                self.request_keyframe(slot.source)

    # --- selection ----------------------------------------------------------------------

    async def _run_ticks(self) -> None:
        last_reports = 0.0
        while True:
            await asyncio.sleep(self.tick)
            now = time.monotonic()
            for room in list(self.rooms.values()):
                try:
                    self._select(room, now)
                except Exception:  # a selection bug must not stop media for every room
                    log.exception("selection failed in room %s", room.room_id)
            if now - last_reports >= 1.0:
                last_reports = now
                for room in self.rooms.values():
                    for peer in room.peers.values():
                        peer.send_reports(now, self.default_video_bitrate)
                        peer.check_heard(now, self.media_timeout)

    def _select(self, room: RoomState, now: float) -> None:
        """Re-rank the speakers; reassign every slot only if the ranking moved.

        Everything else an assignment reads (tracks, pins, screen shares, offers)
        reassigns when it changes, so with the same ranking every slot would
        keep its source: in a 300-seat meeting that is most ticks, and one
        reassignment of 150 local peers costs a few milliseconds of the
        worker's loop. Waiting slots still ask for their keyframes.
        """
        if room.speakers.tick(now):
            dominant = room.speakers.dominant
            room.order.promote(dominant)
            if self.index == 0:  # every worker sees the same levels; one of them tells
                self.emit({"event": "speaker", "room": room.room_id, "participant": dominant})
        elif room.speakers.selected == room.assigned_for:
            for peer in room.peers.values():
                self._ask_keyframes_for_waiting(peer)
            if room.recorder is not None:
                room.recorder.follow(room)
            return
        mark_skippable(room)
        self._reassign(room, now)

    def _reassign(self, room: RoomState, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        room.assigned_for = list(room.speakers.selected)
        for peer in room.peers.values():
            self._assign(room, peer, now)
        if room.recorder is not None:
            room.recorder.follow(room)

    def _assign(self, room: RoomState, peer: Peer, now: float) -> None:
        audio_slots = [s for s in peer.slots.values() if s.kind == "audio"]
        video_slots = [s for s in peer.slots.values() if s.kind == "video" and not s.screen]
        screen_slots = [s for s in peer.slots.values() if s.kind == "video" and s.screen]
        if audio_slots:
            speakers = room.speakers.loudest_for(peer.participant_id)
            heard = [room.audio_of[p] for p in speakers if p in room.audio_of]
            for owner, track in room.audio_of.items():  # before anyone spoke: fill from the rest
                if len(heard) >= len(audio_slots):
                    break
                if owner != peer.participant_id and track not in heard:
                    heard.append(track)
            place(audio_slots, heard[: len(audio_slots)], stage=False)
        if video_slots:
            chosen = select_video(room.order, peer.participant_id, min(len(video_slots), room.video_n), peer.pinned)
            seen = [room.camera_of[p] for p in chosen if p in room.camera_of]
            place(video_slots, seen, stage=True)
        if screen_slots:
            own = {t.track_id for t in peer.tracks.values()}
            share = room.screens.for_receiver(own)
            screen_slots[0].show(room.tracks.get(share) if share is not None else None)
        layout = {slot.mid: slot.source.owner if slot.source is not None else None for slot in video_slots + screen_slots}
        if layout != peer.layout:  # the page names each tile after whom its slot shows
            peer.layout = layout
            self.emit({"event": "layout", "room": room.room_id, "participant": peer.participant_id, "slots": layout})
        self._ask_keyframes_for_waiting(peer)


def mark_skippable(room: RoomState) -> None:
    """Let the readers drop the silence of every audio source with a level that is not a selected speaker (``Track``).

    Whoever is selected is decrypted in full, silence included: it is forwarded.
    """
    selected = room.speakers.selected
    for owner, track in room.audio_of.items():
        track.skippable = bool(track.audio_level_id) and owner not in selected


def place(slots: list, tracks: list[Track], stage: bool) -> None:
    """Show ``tracks`` on ``slots`` moving as few as possible; with ``stage``, slot 0 shows tracks[0]."""
    wanted = list(tracks)
    free = []
    if stage and wanted:
        slots[0].show(wanted[0])
        wanted = wanted[1:]
        rest = slots[1:]
    else:
        rest = slots
    for slot in rest:
        if slot.source is not None and slot.source in wanted:
            wanted.remove(slot.source)
        else:
            free.append(slot)
    for slot in free:
        slot.show(wanted.pop(0) if wanted else None)


def describe(track: Track) -> dict:
    """A track as the router passes it to the other workers (the constructor's arguments)."""
    return {
        "track_id": track.track_id, "room_id": track.room_id, "owner": track.owner, "worker": track.worker,
        "kind": track.kind, "screen": track.screen, "ssrc": track.ssrc, "clock_rate": track.clock_rate,
        "audio_level_id": track.audio_level_id, "codec": track.codec,
    }
