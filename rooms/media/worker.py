"""A media worker: the commands of the signalling side, applied to this worker's rooms, peers and stage sinks.

A room's participants are spread over several workers (processes, one per
core by default, see ``rooms/media/processes.py``). A worker is four parts,
each in its own module, and this one wires them and speaks the protocol:

* the room registry (``registry.py``): per room, its tracks by role, its
  local peers, its stage sinks;
* the forwarder (``forwarder.py``): each track's packets to the slots of the
  sinks showing it (peers, the recorder; see its docstring for the sink
  interface), keyframe requests, retransmissions, the fan-out to the other
  workers;
* speaker selection (``selection.py``): which track each slot shows;
* the commands (here): ``offer``, ``candidate``, ``leave``, ``pin``,
  ``tiles``, ``hold``, ``start_recording``, ``stop_recording``, ``start_hls``,
  ``stop_hls`` and ``tracks``, with
  keyword arguments (``run_command``), from ``LocalRouter`` in the same
  process or ``ProcessRouter`` over a socket; events go back through
  ``emit``.

Peers and the recorder are given the forwarder and an ``emit``; they never
call back into the worker.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiortc.rtcdtlstransport import RTCCertificate
from aiortc.sdp import candidate_from_sdp

from rooms.media.forwarder import Forwarder
from rooms.media.offer import OfferError
from rooms.media.peer import Peer
from rooms.media.registry import RoomRegistry
from rooms.media.selection import Selection, mark_skippable
from rooms.media.track import Track

RECORDING = "recording"  # the recorder's name among a room's stage sinks
HLS = "hls"  # the HLS segmenter's


class Worker:
    def __init__(
        self, index: int, emit: Callable[[dict], None], *, audio_n: int = 3, video_n: int = 9,
        tick: float = 0.2, default_video_bitrate: int = 1_500_000, media_timeout: float = 8.0,
    ) -> None:
        self.index = index
        self.emit = emit  # events for the signalling layer (speaker, error, connection, layout, recording_*)
        self.tick = tick
        self.default_video_bitrate = default_video_bitrate
        self.media_timeout = media_timeout  # a connected peer silent this long (no media, RTCP or STUN) is lost
        self.certificate = RTCCertificate.generateCertificate()
        self.rooms = RoomRegistry(audio_n, video_n)
        self.forwarder = Forwarder(index)
        self.selection = Selection(self.rooms, self.forwarder, emit, tells=index == 0)
        self._tasks: set[asyncio.Task] = set()
        self._ticker: asyncio.Task | None = None

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        self._ticker = asyncio.get_running_loop().create_task(self._run_ticks())

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        for room in self.rooms:
            for name in list(room.stage_sinks):
                room.stage_sinks.pop(name).close()
            for peer in list(room.peers.values()):
                await peer.close()
        for task in list(self._tasks):
            task.cancel()

    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run_ticks(self) -> None:
        last_reports = 0.0
        while True:
            await asyncio.sleep(self.tick)
            now = time.monotonic()
            self.selection.tick(now)
            if now - last_reports >= 1.0:
                last_reports = now
                for room in self.rooms:
                    for peer in room.peers.values():
                        peer.send_reports(now, self.default_video_bitrate)
                        peer.check_heard(now, self.media_timeout)

    # --- commands ---------------------------------------------------------------------

    async def offer(self, room_id: str, participant_id: str, sdp: str, screen_mids: list[str] = ()) -> dict:
        """Answer a participant's offer (joining on the first one); the new tracks go back to the router."""
        room = self.rooms.room(room_id)
        peer = room.peers.get(participant_id)
        created = peer is None
        if created:
            peer = Peer(self.forwarder, room_id, participant_id, self.certificate, self.emit)
        try:
            answer, added, removed = await peer.negotiate(sdp, frozenset(screen_mids))
        except OfferError:
            if created:
                await peer.close()
            raise
        room.peers[participant_id] = peer
        for track in added:
            self.add_track(track, publisher=peer)
        for track in removed:
            self.remove_track(track.track_id)
        self.selection.assign(room, peer, time.monotonic())
        return {"answer": answer, "added": [describe(t) for t in added], "removed": [t.track_id for t in removed]}

    async def candidate(self, room_id: str, participant_id: str, candidate) -> None:
        peer = self.rooms.peer(room_id, participant_id)
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
        peer = self.rooms.peer(room_id, participant_id)
        if peer is not None:
            peer.pinned = target
            self.selection.assign(self.rooms.rooms[room_id], peer, time.monotonic())

    def tiles(self, room_id: str, participant_id: str, tiles: dict[str, list[int]]) -> None:
        """The tile size (pixels) the participant's page shows each video slot at: it chooses simulcast layers (layers.py)."""
        peer = self.rooms.peer(room_id, participant_id)
        if peer is not None:
            peer.tiles = {mid: (int(size[0]), int(size[1])) for mid, size in tiles.items()}
            self.selection.choose_layers(peer, time.monotonic())

    def hold(self, room_id: str, participant_id: str, kind: str, held: bool) -> None:
        """A participant that has not offered yet has no peer: the signalling layer holds again after its offer."""
        peer = self.rooms.peer(room_id, participant_id)
        if peer is not None:
            peer.hold(kind, held)

    def start_recording(self, room_id: str, path: str) -> None:
        """Record the room's stage into ``path`` (see rooms/recording/stage.py)."""
        from rooms.recording.stage import StageRecorder  # PyAV is loaded only by workers that record

        room = self.rooms.room(room_id)
        if RECORDING in room.stage_sinks:
            raise ValueError("this room is already being recorded")
        recorder = room.stage_sinks[RECORDING] = StageRecorder(self.forwarder, room_id, path, self.emit)
        recorder.follow(room)

    def stop_recording(self, room_id: str) -> dict:
        """Finish the room's recording file; returns what was written (empty if it was not recording)."""
        room = self.rooms.get(room_id)
        recorder = room.stage_sinks.pop(RECORDING, None) if room is not None else None
        return recorder.close() if recorder is not None else {}

    def start_hls(self, room_id: str, directory: str, replay_path: str) -> None:
        """Segment the room's stage into HLS in ``directory`` and append it to ``replay_path`` (see rooms/hls/sink.py)."""
        from rooms.hls.sink import HlsSink  # PyAV is loaded only by workers that segment

        room = self.rooms.room(room_id)
        if HLS not in room.stage_sinks:
            sink = room.stage_sinks[HLS] = HlsSink(self.forwarder, room_id, directory, replay_path)
            sink.follow(room)

    def stop_hls(self, room_id: str) -> dict:
        """Finish the room's HLS: the live playlist ends, and the replay's VOD playlist is answered (empty if none ran)."""
        room = self.rooms.get(room_id)
        sink = room.stage_sinks.pop(HLS, None) if room is not None else None
        return sink.close() if sink is not None else {}

    def tracks(self, added: list[dict], removed: list[int]) -> None:
        """Tracks published on other workers: this worker receives (or no longer receives) their packets over the fan-out."""
        for info in added:
            if info["track_id"] not in self.forwarder.tracks:
                self.add_track(Track(**info))
        for track_id in removed:
            self.remove_track(track_id)

    # --- the registry, the forwarder and the selection together -------------------------

    def add_track(self, track: Track, publisher: Peer | None = None) -> None:
        room = self.rooms.room(track.room_id)
        self.forwarder.add(track, publisher)
        room.add_track(track)
        if track.kind == "audio" and not track.screen:
            mark_skippable(room)
        self.selection.reassign(room)

    def remove_track(self, track_id: int) -> None:
        track = self.forwarder.remove(track_id)
        if track is None:
            return
        room = self.rooms.rooms[track.room_id]
        room.remove_track(track)
        self.selection.reassign(room)


async def run_command(worker: Worker, method: str, kwargs: dict):
    """Apply one router command to a worker (shared by the in-process and the process routers)."""
    if method == "offer":
        return await worker.offer(**kwargs)
    if method == "candidate":
        text = kwargs.pop("candidate")
        return await worker.candidate(candidate=candidate_from_sdp(text) if text else None, **kwargs)
    if method == "leave":
        return await worker.leave(**kwargs)
    if method in ("pin", "tiles", "hold", "start_recording", "stop_recording", "start_hls", "stop_hls", "tracks"):
        return getattr(worker, method)(**kwargs)
    raise ValueError(f"unknown worker command {method!r}")


def describe(track: Track) -> dict:
    """A track as the router passes it to the other workers (the constructor's arguments)."""
    return {
        "track_id": track.track_id, "room_id": track.room_id, "owner": track.owner, "worker": track.worker,
        "kind": track.kind, "screen": track.screen, "ssrc": track.ssrc, "clock_rate": track.clock_rate,
        "audio_level_id": track.audio_level_id, "codec": track.codec, "rid": track.rid, "group": track.group,
    }
