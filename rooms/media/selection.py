"""Speaker selection in a worker: who is heard and seen by each local peer, and what the stage sinks follow.

Every worker makes the same decision from the same audio levels (each
receives every packet of its rooms), so no per-packet coordination between
workers is needed. Every ``tick`` each room re-ranks its speakers; when the
ranking moved (a track, a pin, an offer or a screen share reassigns by itself),
each local peer's slots are given their sources (``assign``) and every stage
sink (the recorder) re-points its own (``follow``). Slots are pointed through
the forwarder, which asks for the keyframes a switch needs. A slot showing
a simulcast camera shows one of its layers, chosen for its receiver
(``layers.py``) when the camera is placed, when the receiver's tiles change,
and once a second.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from rooms.media import layers, rtp
from rooms.media.forwarder import Forwarder
from rooms.media.lastn import select_video
from rooms.media.registry import RoomRegistry, RoomState
from rooms.media.speakers import AUDIBLE_LEVEL
from rooms.media.track import Track

log = logging.getLogger(__name__)


class Selection:
    def __init__(self, registry: RoomRegistry, forwarder: Forwarder, emit: Callable[[dict], None], *, tells: bool) -> None:
        self.registry = registry
        self.forwarder = forwarder
        self.emit = emit
        self.tells = tells  # every worker sees the same levels; one of them tells who speaks
        self.layers_at = 0.0  # when the simulcast layers were last measured and chosen
        forwarder.observe = self.observe

    def observe(self, track: Track, data: bytes, header: rtp.RtpHeader, now: float) -> bool:
        """Feed the packet's audio level to speaker detection; True if the other workers need the packet.

        They do unless it is silence of a source nobody hears (a packet without
        a level counts as audible).
        """
        level = rtp.audio_level(data, header, track.audio_level_id)
        if level is None:
            return True
        room = self.registry.rooms[track.room_id]
        room.speakers.observe(track.owner, level[1], now)
        return level[1] <= AUDIBLE_LEVEL or track.owner in room.speakers.selected

    def tick(self, now: float) -> None:
        elapsed = now - self.layers_at
        relayer = elapsed >= 1.0
        if relayer:
            self.layers_at = now
        for room in self.registry:
            try:
                self.select(room, now)
                if relayer and room.layers:
                    for group in room.layers.values():
                        layers.measure(group, elapsed)
                    for peer in room.peers.values():
                        self.choose_layers(peer, now)
            except Exception:  # a selection bug must not stop media for every room
                log.exception("selection failed in room %s", room.room_id)

    def choose_layers(self, peer, now: float) -> None:
        """Give each of the peer's slots that shows a simulcast camera its layer, the stage first (``layers.py``)."""
        budget = layers.estimate(peer, now)
        video = [s for s in peer.slots.values() if s.kind == "video"]
        stage = next((s for s in video if not s.screen), None)
        for slot in sorted(video, key=lambda s: s is not stage):
            if slot.source is None or slot.source.layers is None:
                continue
            layer = layers.choose(slot.source.layers, peer.tiles.get(slot.mid), slot is stage or slot.screen, budget, now)
            if layer is None:
                continue
            if budget is not None:
                budget -= layer.bitrate
            if layer is not (slot.target or slot.source):
                self.forwarder.switch(slot, layer)

    def _show(self, peer, stage_slot, now: float):
        """``attach`` for a peer's video slots: a simulcast camera already shown keeps its layer, a new one starts at its chosen layer."""

        def show(slot, track: Track | None) -> None:
            if track is not None and track.layers:
                if slot.source is not None and slot.source.camera_id == track.camera_id:
                    return
                stage = slot is stage_slot
                track = layers.choose(track.layers, peer.tiles.get(slot.mid), stage, None, now) or layers.ordered(track.layers)[-1 if stage else 0]
            self.forwarder.attach(slot, track)

        return show

    def select(self, room: RoomState, now: float) -> None:
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
            if self.tells:
                self.emit({"event": "speaker", "room": room.room_id, "participant": dominant})
        elif room.speakers.selected == room.assigned_for:
            for peer in room.peers.values():
                self.forwarder.ask_keyframes(peer.slots.values())
            self._follow(room)
            return
        mark_skippable(room)
        self.reassign(room, now)

    def reassign(self, room: RoomState, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        room.assigned_for = list(room.speakers.selected)
        for peer in room.peers.values():
            self.assign(room, peer, now)
        self._follow(room)

    def _follow(self, room: RoomState) -> None:
        for sink in list(room.stage_sinks.values()):
            sink.follow(room)

    def assign(self, room: RoomState, peer, now: float) -> None:
        """Give the peer's slots their sources: the loudest others, last-N cameras (pinned first), the latest screen share."""
        attach = self.forwarder.attach
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
            place(attach, audio_slots, heard[: len(audio_slots)], stage=False)
        if video_slots:
            chosen = select_video(room.order, peer.participant_id, min(len(video_slots), room.video_n), peer.pinned)
            seen = [room.camera_of[p] for p in chosen if p in room.camera_of]
            place(self._show(peer, video_slots[0], now), video_slots, seen, stage=True)
        if screen_slots:
            own = {t.track_id for t in peer.tracks.values()}
            share = room.screens.for_receiver(own)
            self._show(peer, screen_slots[0], now)(screen_slots[0], room.tracks.get(share) if share is not None else None)
        layout = {slot.mid: slot.source.owner if slot.source is not None else None for slot in video_slots + screen_slots}
        if room.layers:
            self.choose_layers(peer, now)
        if layout != peer.layout:  # the page names each tile after whom its slot shows
            peer.layout = layout
            self.emit({"event": "layout", "room": room.room_id, "participant": peer.participant_id, "slots": layout})
        self.forwarder.ask_keyframes(peer.slots.values())


def mark_skippable(room: RoomState) -> None:
    """Let the readers drop the silence of every audio source with a level that is not a selected speaker (``Track``).

    Whoever is selected is decrypted in full, silence included: it is forwarded.
    """
    selected = room.speakers.selected
    for owner, track in room.audio_of.items():
        track.skippable = bool(track.audio_level_id) and owner not in selected


def place(attach, slots: list, tracks: list[Track], stage: bool) -> None:
    """Show ``tracks`` on ``slots`` (through ``attach``) moving as few as possible; with ``stage``, slot 0 shows tracks[0]."""
    wanted = list(tracks)
    free = []
    if stage and wanted:
        attach(slots[0], wanted[0])
        wanted = wanted[1:]
        rest = slots[1:]
    else:
        rest = slots
    by_camera = {track.camera_id: track for track in wanted}  # a simulcast camera is on a slot whichever layer it shows
    for slot in rest:
        if slot.source is not None and by_camera.pop(slot.source.camera_id, None) is not None:
            continue
        free.append(slot)
    wanted = [track for track in wanted if track.camera_id in by_camera]
    for slot in free:
        attach(slot, wanted.pop(0) if wanted else None)
