"""The forwarder: each publisher's track to the slots of the sinks that show it, in one worker.

A worker receives each packet of each track of its rooms exactly once: from
the network if the publisher is connected here (``publish``), otherwise from
the fan-out socket of the worker that is (``receive``). ``deliver`` then sends
it to every local slot showing the track.

Sinks
-----
A *sink* is whatever receives forwarded packets; it does so through *slots*
(``rooms/media/slot.py``), one per stream it takes (an m-line of a browser,
the recorder's video). A slot shows one track at a time (``attach``) and turns
its packets into one continuous stream: the slot's own SSRC and payload type,
sequence numbers and timestamps that carry on across source switches, and,
for video, nothing after a switch until a keyframe of the new source. Two
kinds of sinks:

* a WebRTC sink (``Peer``, later a WHEP viewer): ``sink.transport`` is its
  ``PeerTransport``; the slots' packets are protected and sent on it, in C
  for the steady state (``_forward.forward``);
* a local sink (the stage recorder, later an HLS segmenter or a replay
  writer): ``sink.transport`` is None and the forwarder calls
  ``sink.write(slot, packet)`` with each packet of its slots, in the clear,
  already munged. A sink that fails must not raise: it detaches its slots
  (``forwarder.attach(slot, None)``) and reports through its own events.

What a sink may ask of the forwarder: ``attach(slot, track)`` (a video slot
that changes source asks the publisher for a keyframe at once if the sink can
take packets: connected, or local), ``ask_keyframes(slots)`` (again for the
slots still waiting, at every selection: requests are throttled to one a
second per source and may be lost), ``request_keyframe(track)`` (after a
loss), ``retransmit(slot, lost)`` (a NACK). Sinks never see the worker.

Publishers: a track published here is ``add``-ed with its publisher, an
object with ``send_keyframe_request(track)``; a keyframe request for a track
published on another worker goes there over ``send_to_worker``.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Protocol

from rooms.media import rtp, srtp
from rooms.media._forward import forward
from rooms.media.slot import Slot
from rooms.media.track import Track


class Publisher(Protocol):
    def send_keyframe_request(self, track: Track) -> None: ...


class Sink(Protocol):
    """Receives forwarded packets through its slots (see the module's docstring)."""

    transport: object | None  # a PeerTransport, or None for a local sink

    def write(self, slot: Slot, packet: bytes) -> None:  # local sinks only: a packet of ``slot``, in the clear
        ...


# (track, packet, header, now) -> whether the other workers need the packet (speaker detection reads the level)
Observer = Callable[[Track, bytes, rtp.RtpHeader, float], bool]


def _everyone_needs(track: Track, data: bytes, header: rtp.RtpHeader, now: float) -> bool:
    return True


def can_take(slot: Slot) -> bool:
    """Whether the slot's sink takes packets now: a local sink always, a WebRTC one once its DTLS is up."""
    return slot.transport is None or slot.transport.egress is not None


class Forwarder:
    def __init__(self, index: int, observe: Observer = _everyone_needs) -> None:
        self.index = index  # this worker's; a track id carries the index of the worker that made it
        self.observe = observe  # audio with a level goes through it first (speaker detection)
        self.tracks: dict[int, Track] = {}
        self.publishers: dict[int, Publisher] = {}  # track id -> its publisher, for the tracks published here
        self.fanout: Callable[[int, bytes], None] | None = None  # to the other workers
        self.send_to_worker: Callable[[int, dict], None] | None = None
        self.forwarded = 0
        self.retransmitted = 0
        self._next_track = 0

    def new_track_id(self) -> int:
        self._next_track += 1
        return (self.index << 24) | self._next_track

    def add(self, track: Track, publisher: Publisher | None = None) -> None:
        self.tracks[track.track_id] = track
        if publisher is not None:
            self.publishers[track.track_id] = publisher

    def remove(self, track_id: int) -> Track | None:
        """Forget the track; every slot showing it goes blank."""
        track = self.tracks.pop(track_id, None)
        self.publishers.pop(track_id, None)
        if track is not None:
            for slot in list(track.slots):
                if slot.target is track:
                    slot.switch(None)
                else:
                    slot.show(None)
        return track

    # --- sinks ------------------------------------------------------------------------

    def attach(self, slot: Slot, track: Track | None) -> bool:
        """Show ``track`` (None: nothing) on the slot; True if it now waits for a keyframe, which is asked for."""
        waiting = slot.show(track)
        if waiting and can_take(slot):
            self.request_keyframe(track)
        return waiting

    def switch(self, slot: Slot, layer: Track) -> None:
        """Move a slot showing a simulcast camera to another of its layers at that layer's next keyframe, asked for now.

        A slot still waiting for its first keyframe has shown nothing yet: it just waits for the new layer's.
        """
        if slot.waiting_keyframe:
            self.attach(slot, layer)
        elif slot.switch(layer) and can_take(slot):
            self.request_keyframe(layer)

    def ask_keyframes(self, slots: Iterable[Slot]) -> None:
        """Ask (throttled) for a keyframe of every source a slot that can take packets still waits for.

        A keyframe that arrived while a subscriber was still connecting was not
        given to it, and a request right after another one is throttled, so a
        waiting slot asks again at every selection until one comes.
        """
        for slot in slots:
            if can_take(slot):
                if slot.waiting_keyframe:
                    self.request_keyframe(slot.source)
                if slot.target is not None:
                    self.request_keyframe(slot.target)

    def retransmit(self, slot: Slot, lost: list[int]) -> None:
        track = slot.source
        if track is None:
            return
        for out_seq in lost:
            source_seq = slot.munger.source_sequence(out_seq)
            data = track.cache.get(source_seq) if source_seq is not None else None
            if data is not None:
                slot.send(slot.retransmission(data, out_seq))
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
        """A keyframe request for a track published here (from this worker, or from another one)."""
        track = self.tracks.get(track_id)
        if track is None or (not throttled and not track.keyframes.allow(time.monotonic())):
            return
        publisher = self.publishers.get(track_id)
        if publisher is not None:
            publisher.send_keyframe_request(track)

    # --- the packet path --------------------------------------------------------------

    def publish(self, track: Track, data: bytes, header: rtp.RtpHeader) -> None:
        """A packet from a publisher connected to this worker.

        Silent audio of a source that nobody hears is not sent to the other
        workers (``observe`` says so): in a 300-seat meeting that is nearly
        all of the audio, and a source with no audible packets looks the same
        to every worker's speaker detection whether its silence arrives or not.
        """
        now = time.monotonic()
        share = self.fanout is not None
        if track.audio_level_id:
            share = self.observe(track, data, header, now) and share
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
            self.observe(track, data, header, now)
        self.deliver(track, data, header, now)

    def deliver(self, track: Track, data: bytes, header: rtp.RtpHeader, now: float) -> None:
        """Send the packet to every local slot showing ``track``: the hot loop, once per subscriber.

        The common case (a connected subscriber, same source as its previous
        packet, same extension ids) runs in C, one call for all subscribers
        (``rooms/media/_forward.c``): the munger's steady state, the header
        rewritten in a static buffer, libsrtp protect in place, one ``send``
        on the subscriber's socket. Anything else (a source switch, a video
        slot waiting for a keyframe, a late packet, extension remapping, the
        slots of local sinks) takes ``_deliver_slow``.
        """
        if track.layers is not None:  # a simulcast layer: its MID/RID go no further; its size and rate choose layers
            data, header = rtp.strip_extensions(data, header)
            track.note_layer(data, header, now)
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
        vp8_at = header.payload_start if track.vp8 else -1
        sent, slow = forward(slots, data, seq, header.timestamp, track.track_id, now, vp8_at)
        if slow is not None:
            sent += self._deliver_slow(slow, data, header, now, track, vp8_at)
        self.forwarded += sent

    def _deliver_slow(self, slots: list, data: bytes, header: rtp.RtpHeader, now: float, track: Track, vp8_at: int) -> int:
        """The general path of ``deliver``; returns how many packets went to connected subscribers."""
        source_id = track.track_id
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
            switching = slot.source is not track  # the layer the slot switches to (``switch``): from its keyframe on
            if switching or slot.waiting_keyframe:
                if keyframe is None:
                    keyframe = track.starts_keyframe(data[header.payload_start : header.payload_end])
                if not keyframe:
                    continue
                if switching:
                    slot.complete_switch()
                slot.waiting_keyframe = False
                lead = track.keyframe_lead(data, header)
                if lead is not None:  # H.264's SPS/PPS, which the slot skipped while it waited
                    packet = slot.packet_for(lead, rtp.parse_header(lead), now, source_id)
                    if packet is not None:
                        slot.send(packet)
            packet = slot.packet_for(data, header, now, source_id, tail, vp8_at)
            if packet is not None:
                slot.send(packet)
                if transport is not None:
                    sent += 1  # counted as forwarded: it went to a connected subscriber (not to a local sink)
        return sent
