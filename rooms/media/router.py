"""The signalling side of the media layer: rooms, participants, and which worker serves whom.

This is the interface the meeting signalling (WebSocket, lobby, host
controls) is wired to; it knows nothing about packets::

    router = await LocalRouter.start()              # or ProcessRouter.start(workers=4)
    room = router.room("room-1")
    room.on_event(callback)                         # speaker / error / connection events
    alice = await room.add_participant("alice")
    answer_sdp = await alice.handle_offer(offer_sdp)
    await alice.add_ice_candidate("candidate:...")  # trickled candidates
    await alice.pin("bob")
    await alice.leave()

A new participant goes to the worker with the fewest participants. When a
participant's offer adds tracks, the router tells every other worker, so each
of them receives that track's packets (over the fan-out) and can forward it to
its own subscribers.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiortc.sdp import candidate_from_sdp

from rooms.media.offer import OfferError
from rooms.media.worker import Worker, run_command


class MediaRouter:
    """Base: bookkeeping of participants per worker; subclasses say how a worker is reached."""

    def __init__(self, worker_count: int) -> None:
        self.worker_count = worker_count
        self.rooms: dict[str, Room] = {}
        self.load = [0] * worker_count
        self.placement: dict[tuple[str, str], int] = {}

    async def call(self, index: int, method: str, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    async def close(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def room(self, room_id: str) -> "Room":
        room = self.rooms.get(room_id)
        if room is None:
            room = self.rooms[room_id] = Room(self, room_id)
        return room

    def on_worker_event(self, event: dict) -> None:
        room = self.rooms.get(event.get("room"))
        if room is not None:
            room.dispatch(event)

    def place(self, room_id: str, participant_id: str) -> int:
        index = min(range(self.worker_count), key=lambda i: self.load[i])
        self.load[index] += 1
        self.placement[(room_id, participant_id)] = index
        return index

    async def offer(self, room_id: str, participant_id: str, sdp: str, screen_mids: list[str]) -> str:
        index = self.placement[(room_id, participant_id)]
        reply = await self.call(index, "offer", room_id=room_id, participant_id=participant_id, sdp=sdp, screen_mids=list(screen_mids))
        await self._announce(index, reply["added"], reply["removed"])
        return reply["answer"]

    async def leave(self, room_id: str, participant_id: str) -> None:
        index = self.placement.pop((room_id, participant_id), None)
        if index is None:
            return
        self.load[index] -= 1
        removed = await self.call(index, "leave", room_id=room_id, participant_id=participant_id)
        await self._announce(index, [], removed)

    async def _announce(self, origin: int, added: list[dict], removed: list[int]) -> None:
        others = [i for i in range(self.worker_count) if i != origin]
        await asyncio.gather(*(
            self.call(i, "tracks", added=added, removed=removed) for i in others if added or removed
        ))


class Room:
    def __init__(self, router: MediaRouter, room_id: str) -> None:
        self.router = router
        self.room_id = room_id
        self.participants: dict[str, Participant] = {}
        self._listeners: list[Callable[[dict], None]] = []

    def on_event(self, listener: Callable[[dict], None]) -> None:
        self._listeners.append(listener)

    def dispatch(self, event: dict) -> None:
        for listener in self._listeners:
            listener(event)

    async def start_recording(self, path: str) -> None:
        """Record the room's stage into a WebM file at ``path``; worker 0 does it (every worker sees every track)."""
        await self.router.call(0, "start_recording", room_id=self.room_id, path=path)

    async def stop_recording(self) -> dict:
        """Finish the file; returns ``video_frames``, ``audio_packets``, ``size_bytes`` (and ``error`` if writing failed)."""
        return await self.router.call(0, "stop_recording", room_id=self.room_id)

    async def start_hls(self, directory: str, replay_path: str) -> None:
        """Segment the stage into HLS (a livestream's room): on worker 0, which knows every track, like the recorder."""
        await self.router.call(0, "start_hls", room_id=self.room_id, directory=directory, replay_path=replay_path)

    async def stop_hls(self) -> dict:
        """The live playlist ends; answers the replay's VOD playlist and size, or ``error``."""
        return await self.router.call(0, "stop_hls", room_id=self.room_id)

    async def add_participant(self, participant_id: str) -> "Participant":
        if participant_id in self.participants:
            raise ValueError(f"participant {participant_id} is already in room {self.room_id}")
        worker = self.router.place(self.room_id, participant_id)
        participant = self.participants[participant_id] = Participant(self, participant_id, worker)
        return participant


class Participant:
    def __init__(self, room: Room, participant_id: str, worker: int) -> None:
        self.room = room
        self.participant_id = participant_id
        self.worker = worker

    async def handle_offer(self, sdp: str, screen_mids: list[str] | tuple[str, ...] = ()) -> str:
        """Answer the client's offer (join or renegotiation); raises ``OfferError`` with a message for the client."""
        return await self.room.router.offer(self.room.room_id, self.participant_id, sdp, list(screen_mids))

    async def add_ice_candidate(self, candidate: str | None) -> None:
        """A trickled ``candidate:...`` line (the a= prefix optional), or None at the end of candidates."""
        if candidate is not None:
            text = candidate.removeprefix("a=").removeprefix("candidate:")
            try:
                candidate_from_sdp(text)
            except Exception:
                raise OfferError(f"malformed ICE candidate: {candidate[:100]!r}") from None
            candidate = text
        await self.room.router.call(self.worker, "candidate", room_id=self.room.room_id, participant_id=self.participant_id, candidate=candidate)

    async def hold(self, kind: str, held: bool) -> None:
        """Stop (or resume) forwarding this participant's ``"audio"`` or camera ``"video"``, whatever its client sends."""
        await self.room.router.call(self.worker, "hold", room_id=self.room.room_id, participant_id=self.participant_id, kind=kind, held=held)

    async def pin(self, target: str | None) -> None:
        await self.room.router.call(self.worker, "pin", room_id=self.room.room_id, participant_id=self.participant_id, target=target)

    async def tiles(self, tiles: dict[str, list[int]]) -> None:
        """The tile size, ``[width, height]`` in pixels, the page shows each video slot (by mid) at: it chooses simulcast layers."""
        await self.room.router.call(self.worker, "tiles", room_id=self.room.room_id, participant_id=self.participant_id, tiles=tiles)

    async def leave(self) -> None:
        self.room.participants.pop(self.participant_id, None)
        await self.room.router.leave(self.room.room_id, self.participant_id)


class LocalRouter(MediaRouter):
    """Workers inside this process (tests, small installs): the fan-out is a direct call."""

    def __init__(self, workers: int = 1, **options) -> None:
        super().__init__(workers)
        self.workers = [Worker(i, self.on_worker_event, **options) for i in range(workers)]
        for worker in self.workers:
            worker.forwarder.fanout = self._fanout_from(worker.index) if workers > 1 else None
            worker.forwarder.send_to_worker = lambda index, message: self.workers[index].forwarder.keyframe_from_owner(message["track_id"])

    @classmethod
    async def start(cls, workers: int = 1, **options) -> "LocalRouter":
        router = cls(workers, **options)
        for worker in router.workers:
            worker.start()
        return router

    def _fanout_from(self, origin: int):
        others = [w.forwarder for w in self.workers if w.index != origin]

        def fanout(track_id: int, data: bytes) -> None:
            for forwarder in others:
                forwarder.receive(track_id, data)

        return fanout

    async def call(self, index: int, method: str, **kwargs):
        return await run_command(self.workers[index], method, kwargs)

    async def close(self) -> None:
        for worker in self.workers:
            await worker.stop()
