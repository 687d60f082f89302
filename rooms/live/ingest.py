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
(``media_timeout_s``: then the stream ends unless it is published again within
``live_grace_s``), or the stream is ended or its key changed on any node
(bus ``live-streams``: every node drops its publisher of that stream at once).
"""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from rooms.config import RoomsSettings
from rooms.leases import keep_renewing
from rooms.live import streams as s
from rooms.media.offer import OfferError, check_offer, check_offer_bounds, drop_unpairable_candidates, pairable, candidate_address, video_codecs_for
from rooms.media.router import MediaRouter, Participant
from rooms.models import LiveStream
from server.bus import Bus
from server.db import Database
from server.errors import Conflict, InvalidInput, NotFound, PreconditionFailed

log = logging.getLogger("muster.rooms.live")


def media_room(stream_id: int) -> str:
    """The SFU room of a stream (its prefix makes the SFU accept H.264 there: rooms/media/offer.py)."""
    return f"live-{stream_id}"


@dataclass(eq=False)
class Publisher:
    resource_id: str
    stream_id: int
    org_id: int
    participant: Participant
    etag: str
    ice_ufrag: str


class StreamIngest:
    def __init__(self, db: Database, settings: RoomsSettings, node: str, router_of: Callable[[], MediaRouter]) -> None:
        self.db, self.settings, self.node, self._router_of = db, settings, node, router_of
        self.publishers: dict[str, Publisher] = {}  # resource id -> publisher on this node
        self._stopping = asyncio.Event()
        self._lease_task: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._listening: set[str] = set()  # SFU rooms whose events reach this object

    # --- lifecycle ------------------------------------------------------------------

    def attach(self, bus: Bus) -> None:
        bus.subscribe(s.STREAMS_CHANNEL, self._on_bus)

    async def start(self) -> None:
        self._lease_task = asyncio.get_running_loop().create_task(self._keep_claims())

    async def stop(self) -> None:
        self._stopping.set()
        for resource_id in list(self.publishers):
            await self.leave(resource_id)
        if self._lease_task is not None:
            await self._lease_task
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_bus(self, payload: bytes) -> None:
        message = json.loads(payload)
        for publisher in [p for p in self.publishers.values() if p.stream_id == message.get("stream_id")]:
            self._spawn(self.leave(publisher.resource_id))

    async def _keep_claims(self) -> None:
        await keep_renewing(self._stopping, self.settings.hosting_lease_s / 3, self._renew_claims, "its publishers")

    async def _renew_claims(self) -> None:
        if self.publishers:
            async with self.db.transaction() as tx:
                await s.do_refresh_publishers(tx, list(self.publishers), self.node)

    # --- WHIP -------------------------------------------------------------------------

    async def publish(self, stream: LiveStream, offer_sdp: str) -> tuple[Publisher, str]:
        """Claim the stream for a new publisher and answer its offer; 409 if someone publishes, 400 for a bad offer."""
        check_offer_bounds(offer_sdp)
        offer_sdp = drop_unpairable_candidates(offer_sdp, self.settings.media_addresses)
        room_id = media_room(stream.id)
        offer = check_offer(offer_sdp, video_codecs=video_codecs_for(room_id))
        if not any(section.publishes for section in offer.sections):
            raise OfferError("a WHIP offer must send media: its audio or video m-lines are all recvonly or inactive")
        resource_id = secrets.token_urlsafe(18)
        async with self.db.transaction(org_id=stream.org_id) as tx:
            if not await s.do_claim_publisher(tx, stream, resource_id, self.node, lease_s=self.settings.hosting_lease_s):
                raise Conflict("someone is already publishing this stream; stop that publisher first", code="already_publishing")
        room = self._router_of().room(room_id)
        if room_id not in self._listening:
            self._listening.add(room_id)
            room.on_event(lambda event, stream_id=stream.id: self._media_event(stream_id, event))
        participant = await room.add_participant(resource_id)
        publisher = Publisher(resource_id, stream.id, stream.org_id, participant, etag=f'"{secrets.token_hex(8)}"', ice_ufrag=offer.ice.usernameFragment)
        self.publishers[resource_id] = publisher
        try:
            answer = await participant.handle_offer(offer_sdp)
        except BaseException:
            await self.leave(resource_id)
            raise
        return publisher, answer

    def find(self, stream_id: int, resource_id: str) -> Publisher:
        publisher = self.publishers.get(resource_id)
        if publisher is None or publisher.stream_id != stream_id:
            raise NotFound("no such WHIP session on this node: it ended, or was made on another node", field="resource_id")
        return publisher

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
        """The publisher's media goes and the stream's claim is given back (idempotent)."""
        publisher = self.publishers.pop(resource_id, None)
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
        async with self.db.transaction(org_id=publisher.org_id) as tx:
            await s.do_release_publisher(tx, publisher.stream_id, resource_id)

    async def _lost(self, publisher: Publisher) -> None:
        """A publisher that vanished gives the stream back; unless one publishes it again within ``live_grace_s``,
        the stream ends (on this node's clock: if this node dies meanwhile, the stream stays live until its host ends it)."""
        await self.leave(publisher.resource_id)
        try:
            await asyncio.wait_for(self._stopping.wait(), self.settings.live_grace_s)
            return  # shutting down: the stream is left as it is
        except TimeoutError:
            pass
        async with self.db.transaction(org_id=publisher.org_id) as tx:
            stream = await s.get_stream(tx, publisher.stream_id)
            if stream.status == "live" and stream.publisher_id is None:
                await s.do_end_stream(tx, stream, "the publisher did not come back")

    def _media_event(self, stream_id: int, event: dict) -> None:
        if event.get("event") == "connection" and event.get("state") == "failed":
            resource_id = event.get("participant")
            publisher = self.publishers.get(resource_id)
            if publisher is not None:
                log.info("publisher of stream %d lost: %s", stream_id, event.get("message", ""))
                self._spawn(self._lost(publisher))
        elif event.get("event") == "error":
            log.info("stream %d: %s", stream_id, event.get("message", ""))


class IceRestartRefused(InvalidInput):
    """RFC 9725 4.3.1: an endpoint that does trickle ICE but not ICE restarts answers a restart with 422."""

    status = 422
