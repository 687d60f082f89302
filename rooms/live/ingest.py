"""This node's WHIP publishers, and the one seam between livestreams and the SFU.

A publisher is a participant of the SFU room ``live-<stream id>``
(``media_room``), driven through the router's existing commands
(``add_participant``, ``handle_offer``, ``add_ice_candidate``, ``leave``):
nothing in rooms/media knows about streams except that a room so named
accepts H.264 (rooms/media/offer.py, ``video_codecs_for``). Viewers, HLS and
replay will be subscribers and sinks of the same room.

One publisher per stream, across nodes: the session claims the stream's row
(``do_claim_publisher``, one conditional UPDATE) before any media exists, so
a second publisher gets 409 and never takes over. The node renews its claim
every third of ``hosting_lease_s``; a dead node's claim lapses and the stream
can be published again. The claim is given back when the publisher leaves
(WHIP ``DELETE``), its media connection fails or goes quiet
(``media_timeout_s``: its watchers are told it paused, and the stream ends
unless it is published again within ``live_grace_s``), or the stream is ended or its key changed on any node
(bus ``live-streams``: every node drops its publisher of that stream at once).

HLS (``_start_hls``): the first time a stream's publisher connects on this
node, worker 0 starts segmenting the room's stage (rooms/hls/sink.py) into
``live_dir`` and the stream's replay file (rooms/live/replays.py); when the
stream ends (the bus message, on whichever node ended it) the segmenter
closes, and the replay is ready with its VOD playlist a moment later. A
publisher that comes back within the grace period continues the same HLS.

WHEP viewers (``view``) are participants of the same room whose offer only
receives: the SFU gives them its slots (the stage, the loudest voices) and a
keyframe on join, like a meeting's participant. They claim nothing; they are
dropped when the stream ends (the same bus message, on every node) or when
the person loses access to the stream (``drop_viewers``, from the platform's
revocations: a withdrawn public link, a group or organisation left, a
removal by the stream's manager). A node takes at most
``live_whep_viewers_per_stream`` WHEP viewers of a stream and
``live_whep_viewers_per_node`` in all; one more gets 503 with Retry-After
(``check_capacity``), and its page plays HLS.
"""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rooms.config import RoomsSettings
from rooms.leases import keep_renewing
from rooms.live import streams as s
from rooms.live.events import tell
from rooms.live.replays import do_begin_replay, do_finish_replay
from rooms.media.offer import OfferError, check_offer, check_offer_bounds, drop_unpairable_candidates, pairable, candidate_address, video_codecs_for
from rooms.media.router import MediaRouter, Participant, Room
from rooms.models import LiveStream
from server.bus import Bus
from server.config import Settings
from server.db import Database
from server.errors import Conflict, InvalidInput, NotFound, PreconditionFailed, Unavailable
from server.revocation import AccessRevoked

log = logging.getLogger("muster.rooms.live")
LIVE_FILES_KEPT_S = 120  # a stream's live HLS files outlast its end this long (players finish, caches have them)


def media_room(stream_id: int) -> str:
    """The SFU room of a stream (its prefix makes the SFU accept H.264 there: rooms/media/offer.py)."""
    return f"live-{stream_id}"


def live_dir(settings: Settings, stream_id: int) -> Path:
    """Where the HLS segmenter of a stream ingested on this node writes its live playlist and segments."""
    return settings.data_dir / "live" / "hls" / str(stream_id)


@dataclass(eq=False)
class Publisher:
    resource_id: str
    stream_id: int
    org_id: int
    participant: Participant | None
    etag: str
    ice_ufrag: str


@dataclass(eq=False)
class Viewer(Publisher):
    """A WHEP viewer: who watches (their access is checked again by ``drop_viewers`` when the platform revokes it)."""

    user_id: int = 0
    group_id: int = 0


class StreamIngest:
    def __init__(self, db: Database, settings: RoomsSettings, platform: Settings, router_of: Callable[[], MediaRouter]) -> None:
        self.db, self.settings, self.platform, self.node, self._router_of = db, settings, platform, platform.node_name, router_of
        self.publishers: dict[str, Publisher] = {}  # resource id -> publisher on this node
        self.viewers: dict[str, Viewer] = {}  # resource id -> WHEP viewer on this node
        self.segmenting: dict[int, tuple[int, Room]] = {}  # stream id -> (organisation id, SFU room): the streams this node makes HLS of
        self._stopping = asyncio.Event()
        self._lease_task: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._listening: set[str] = set()  # SFU rooms whose events reach this object
        self._losses: dict[int, object] = {}  # stream id -> its publisher's latest loss on this node (whose grace period runs)

    # --- lifecycle ------------------------------------------------------------------

    def attach(self, bus: Bus) -> None:
        bus.subscribe(s.STREAMS_CHANNEL, self._on_bus)

    async def start(self) -> None:
        self._lease_task = asyncio.get_running_loop().create_task(self._keep_claims())

    async def stop(self) -> None:
        self._stopping.set()
        for resource_id in [*self.publishers, *self.viewers]:
            await self.leave(resource_id)
        for stream_id in list(self.segmenting):  # the replay keeps what was segmented; publishing again elsewhere starts it over
            await self._finish_hls(stream_id)
        if self._lease_task is not None:
            await self._lease_task
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_bus(self, payload: bytes) -> None:
        message = json.loads(payload)
        sessions = [*self.publishers.values(), *(self.viewers.values() if message.get("ended") else ())]
        for session in [p for p in sessions if p.stream_id == message.get("stream_id")]:
            self._spawn(self.leave(session.resource_id))
        if message.get("ended") and message.get("stream_id") in self.segmenting:
            self._spawn(self._finish_hls(message["stream_id"]))

    async def drop_viewers(self, revoked: AccessRevoked) -> None:
        """People who lost the organisation, a stream's group or the stream itself (``streams.loses_stream``) stop watching at once."""
        for viewer in [v for v in self.viewers.values() if s.loses_stream(revoked, v.org_id, v.user_id, v.group_id, v.stream_id)]:
            await self.leave(viewer.resource_id)

    async def _keep_claims(self) -> None:
        await keep_renewing(self._stopping, self.settings.hosting_lease_s / 3, self._renew_claims, "its publishers")

    async def _renew_claims(self) -> None:
        if self.publishers:
            async with self.db.transaction() as tx:
                await s.do_refresh_publishers(tx, list(self.publishers), self.node)

    # --- WHIP -------------------------------------------------------------------------

    def _check(self, stream: LiveStream, offer_sdp: str, *, sends: bool):
        """The offer, checked for the stream's room; a WHIP offer must send media, a WHEP offer only receive it."""
        check_offer_bounds(offer_sdp)
        offer_sdp = drop_unpairable_candidates(offer_sdp, self.settings.media_addresses)
        offer = check_offer(offer_sdp, video_codecs=video_codecs_for(media_room(stream.id)))
        if sends and not any(section.publishes for section in offer.sections):
            raise OfferError("a WHIP offer must send media: its audio or video m-lines are all recvonly or inactive")
        if not sends and any(section.publishes for section in offer.sections):
            raise OfferError("a WHEP offer only receives: make its audio and video m-lines recvonly")
        return offer_sdp, offer

    async def publish(self, stream: LiveStream, offer_sdp: str) -> tuple[Publisher, str]:
        """Claim the stream for a new publisher and answer its offer; 409 if someone publishes, 400 for a bad offer."""
        offer_sdp, offer = self._check(stream, offer_sdp, sends=True)
        resource_id = secrets.token_urlsafe(18)
        async with self.db.transaction(org_id=stream.org_id) as tx:
            if not await s.do_claim_publisher(tx, stream, resource_id, self.node, lease_s=self.settings.hosting_lease_s):
                raise Conflict("someone is already publishing this stream; stop that publisher first", code="already_publishing")
        publisher = Publisher(resource_id, stream.id, stream.org_id, None, etag=f'"{secrets.token_hex(8)}"', ice_ufrag=offer.ice.usernameFragment)
        answer = await self._join(stream, publisher, self.publishers, offer_sdp)
        async with self.db.transaction(org_id=stream.org_id) as tx:
            tell(tx, stream.id, "live.resumed", {})  # for pages told it paused (to the others it says nothing new)
        if stream.id not in self.segmenting:
            await self._start_hls(stream)
        return publisher, answer

    # --- HLS and the replay -------------------------------------------------------------

    async def _start_hls(self, stream: LiveStream) -> None:
        """Segment the stream's stage on worker 0; a stream whose replay cannot start (a full quota) still gets live HLS."""
        room = self._router_of().room(media_room(stream.id))
        self.segmenting[stream.id] = (stream.org_id, room)
        replay_path = ""
        try:
            async with self.db.transaction(org_id=stream.org_id) as tx:
                replay_path = str(await do_begin_replay(tx, self.platform, stream))
        except Exception as exc:
            log.warning("stream %d gets no replay: %s", stream.id, exc)
        directory = live_dir(self.platform, stream.id)
        shutil.rmtree(directory, ignore_errors=True)
        try:
            await room.start_hls(str(directory), replay_path)
        except Exception:
            log.exception("HLS of stream %d could not start", stream.id)
            self.segmenting.pop(stream.id, None)

    async def _finish_hls(self, stream_id: int) -> None:
        """The live playlist ends, the replay is counted and ready; the live files go a little later."""
        org_id, room = self.segmenting.pop(stream_id, (None, None))
        if room is None:
            return
        try:  # through the room object it started on: the router may have forgotten the room, its participants gone
            result = await room.stop_hls()
        except Exception as exc:
            log.exception("HLS of stream %d could not be finished", stream_id)
            result = {"error": f"the segmenter could not finish: {exc}"}
        async with self.db.transaction(org_id=org_id) as tx:
            await do_finish_replay(tx, self.platform, stream_id, result, self.settings.live_replay_days)
        loop = asyncio.get_running_loop()
        loop.call_later(LIVE_FILES_KEPT_S, lambda: loop.run_in_executor(None, shutil.rmtree, live_dir(self.platform, stream_id), True))

    async def view(self, stream: LiveStream, user_id: int, offer_sdp: str) -> tuple[Viewer, str]:
        """A WHEP viewer of the stream: its recvonly offer answered; the SFU asks the publisher for a keyframe for it.
        503 with Retry-After beyond the node's capacity (``check_capacity``)."""
        offer_sdp, offer = self._check(stream, offer_sdp, sends=False)
        self.check_capacity(stream.id)
        viewer = Viewer(secrets.token_urlsafe(18), stream.id, stream.org_id, None, etag=f'"{secrets.token_hex(8)}"',
                        ice_ufrag=offer.ice.usernameFragment, user_id=user_id, group_id=stream.group_id)
        return viewer, await self._join(stream, viewer, self.viewers, offer_sdp)

    def check_capacity(self, stream_id: int) -> None:
        """At most ``live_whep_viewers_per_stream`` WebRTC viewers of one stream and ``live_whep_viewers_per_node`` of all
        on this node (each WHEP viewer costs the SFU a connection and its packets' copies); one more is told to come back
        after ``live_whep_retry_after_s``, and its page plays HLS meanwhile. Counted over this node's viewers, at most the
        per-node cap."""
        settings = self.settings
        here = sum(1 for viewer in self.viewers.values() if viewer.stream_id == stream_id)
        if here >= settings.live_whep_viewers_per_stream or len(self.viewers) >= settings.live_whep_viewers_per_node:
            raise ViewersFull("this stream has as many WebRTC viewers as this server takes; try again in {seconds} seconds, or watch over HLS",
                              retry_after_s=settings.live_whep_retry_after_s, seconds=settings.live_whep_retry_after_s)

    async def _join(self, stream: LiveStream, session: Publisher, sessions: dict, offer_sdp: str) -> str:
        room_id = media_room(stream.id)
        room = self._router_of().room(room_id)
        if room_id not in self._listening:
            self._listening.add(room_id)
            room.on_event(lambda event, stream_id=stream.id: self._media_event(stream_id, event))
        session.participant = await room.add_participant(session.resource_id)
        sessions[session.resource_id] = session
        try:
            return await session.participant.handle_offer(offer_sdp)
        except BaseException:
            await self.leave(session.resource_id)
            raise

    def find(self, stream_id: int, resource_id: str, *, viewer: bool = False) -> Publisher:
        """A publisher (or with ``viewer``, a WHEP viewer) session of the stream on this node; 404 otherwise."""
        session = (self.viewers if viewer else self.publishers).get(resource_id)
        if session is None or session.stream_id != stream_id:
            raise NotFound("no such session on this node: it ended, or was made on another node", field="resource_id")
        return session

    async def trickle(self, publisher: Publisher, fragment: str, if_match: str | None) -> None:
        """Trickled candidates (``application/trickle-ice-sdpfrag``, RFC 8840) for the publisher's connection."""
        if if_match is not None and if_match != "*" and if_match != publisher.etag:
            raise PreconditionFailed("If-Match does not name this WHIP session's current entity-tag")
        lines = [line.strip() for line in fragment.splitlines() if line.strip()]
        ufrag = next((line.removeprefix("a=ice-ufrag:") for line in lines if line.startswith("a=ice-ufrag:")), None)
        if ufrag is not None and ufrag != publisher.ice_ufrag:
            raise IceRestartRefused("ICE restarts are not supported: DELETE this session and publish again")
        for line in lines:
            if line.startswith("a=candidate:"):
                address = candidate_address(line)
                if address is not None and pairable(address, self.settings.media_addresses):
                    try:
                        await publisher.participant.add_ice_candidate(line)
                    except OfferError as e:
                        raise InvalidInput("trickled candidate refused: {error}", field="candidate", error=str(e)) from None
            elif line.startswith("a=end-of-candidates"):
                await publisher.participant.add_ice_candidate(None)

    async def leave(self, resource_id: str) -> None:
        """The publisher's or viewer's media goes; a publisher gives the stream's claim back (idempotent)."""
        publisher = self.publishers.pop(resource_id, None) or self.viewers.pop(resource_id, None)
        if publisher is None:
            return
        try:
            await publisher.participant.leave()
        except Exception:
            log.exception("media leave failed for publisher %s", resource_id)
        router = self._router_of()
        room = router.rooms.get(media_room(publisher.stream_id)) if router is not None else None
        if room is not None and not room.participants:  # the last one out: the room goes, as a meeting's does
            router.rooms.pop(room.room_id, None)
            self._listening.discard(room.room_id)
        if isinstance(publisher, Viewer):
            return
        async with self.db.transaction(org_id=publisher.org_id) as tx:
            await s.do_release_publisher(tx, publisher.stream_id, resource_id)

    async def _lost(self, publisher: Publisher) -> None:
        """A publisher that vanished gives the stream back and its watchers are told (``live.paused``); unless one
        publishes it again within ``live_grace_s`` (``live.resumed``), the stream ends, the normal way (on this node's
        clock: if this node dies meanwhile, the stream stays live until its host ends it). A publisher that comes back
        and vanishes again starts a new grace period."""
        self._losses[publisher.stream_id] = loss = object()
        await self.leave(publisher.resource_id)
        async with self.db.transaction(org_id=publisher.org_id) as tx:
            tell(tx, publisher.stream_id, "live.paused", {"grace_s": self.settings.live_grace_s})
        try:
            await asyncio.wait_for(self._stopping.wait(), self.settings.live_grace_s)
            return  # shutting down: the stream is left as it is
        except TimeoutError:
            pass
        if self._losses.get(publisher.stream_id) is not loss:
            return  # lost again since: that loss's grace period decides
        del self._losses[publisher.stream_id]
        async with self.db.transaction(org_id=publisher.org_id) as tx:
            stream = await s.get_stream(tx, publisher.stream_id)
            if stream.status == "live" and stream.publisher_id is None:
                await s.do_end_stream(tx, stream, "the publisher did not come back")

    def _media_event(self, stream_id: int, event: dict) -> None:
        if event.get("event") == "connection" and event.get("state") == "failed":
            resource_id = event.get("participant")
            if resource_id in self.viewers:
                self._spawn(self.leave(resource_id))
            publisher = self.publishers.get(resource_id)
            if publisher is not None:
                log.info("publisher of stream %d lost: %s", stream_id, event.get("message", ""))
                self._spawn(self._lost(publisher))
        elif event.get("event") == "error":
            log.info("stream %d: %s", stream_id, event.get("message", ""))


class ViewersFull(Unavailable):
    code = "viewers_full"


class IceRestartRefused(InvalidInput):
    """RFC 9725 4.3.1: an endpoint that does trickle ICE but not ICE restarts answers a restart with 422."""

    status = 422
