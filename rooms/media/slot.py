"""A sink's slot: one stream the SFU sends, with a fixed SSRC, showing whichever source is selected.

A WebRTC sink has one per ``recvonly`` m-line; a local sink (the recorder)
one per stream it writes (``rooms/media/forwarder.py`` says what a sink is).

``forward`` is the per-subscriber step of the hot path: munge sequence number
and timestamp, build the rewritten header, protect, send. A video slot that
changed source waits for a keyframe of the new source before sending
anything, and asks for one.

A slot showing a simulcast camera changes layer without a gap: the new
layer becomes its ``target``, the slot keeps showing the current one and
also sits in the target's ``slots``, and the forwarder completes the switch
at the target's first keyframe (``complete_switch``); the munger keeps
sequence numbers, timestamps and VP8 picture ids continuous across it.
"""
from __future__ import annotations

import struct

from rooms.media import rtp
from rooms.media._forward import SlotState
from rooms.media.munger import SlotMunger, seq_delta

_HEADER = struct.Struct("!BBHII")


class Slot(SlotState):
    """transport, munger, ext_map, ssrc, payload_type and waiting_keyframe are ``SlotState``'s (C): the forwarding loop reads them there."""

    __slots__ = ("sink", "send", "mid", "kind", "screen", "source", "target", "audio_level_id")

    def __init__(self, sink, mid: str, kind: str, screen: bool, ssrc: int, payload_type: int, clock_rate: int, audio_level_id: int | None) -> None:
        self.sink = sink
        self.transport = sink.transport  # None: a local sink, which gets the packets in the clear from ``send``
        self.send = sink.transport.send_rtp if sink.transport is not None else self._write
        self.mid = mid
        self.kind = kind
        self.screen = screen
        self.ssrc = ssrc
        self.payload_type = payload_type
        self.munger = SlotMunger(clock_rate, initial_seq=ssrc & 0x7FFF, initial_ts=ssrc)
        self.source = None  # the Track shown, or None
        self.target = None  # another layer of the source's camera, shown from its next keyframe on
        self.waiting_keyframe = False
        self.ext_map: dict[int, int] | None = None  # publisher ext id -> ours, None when identical
        self.audio_level_id = audio_level_id

    def _write(self, packet: bytes) -> None:
        self.sink.write(self, packet)

    def show(self, track) -> bool:
        """Point the slot at another source; return True if it now needs a keyframe."""
        if self.source is track:
            self.switch(track)
            return False
        self.switch(None)
        if self.source is not None:
            self.source.slots.remove(self)
        self.source = track
        if track is None:
            return False
        track.slots.append(self)
        if self.kind == "audio":
            self.ext_map = None
            if track.audio_level_id != self.audio_level_id:
                self.ext_map = {track.audio_level_id: self.audio_level_id} if self.audio_level_id else {}
        self.waiting_keyframe = self.kind == "video"
        return self.waiting_keyframe

    def switch(self, layer) -> bool:
        """Show ``layer`` (another layer of the source's camera) from its next keyframe on; None or the source: stay.

        Returns True if the slot now waits for a keyframe of ``layer`` (the caller asks for one).
        """
        if layer is self.target:
            return layer is not None
        if self.target is not None:
            self.target.slots.remove(self)
        self.target = None if layer is self.source else layer
        if self.target is not None:
            self.target.slots.append(self)
        return self.target is not None

    def complete_switch(self) -> None:
        """The target's keyframe is here: it becomes the source (the munger starts a segment at this packet)."""
        self.source.slots.remove(self)
        self.source, self.target = self.target, None

    def packet_for(
        self, data: bytes, header: rtp.RtpHeader, now: float, source_ssrc: int, tail: bytes | None = None, vp8_at: int = -1,
    ) -> bytes | None:
        """The packet as this subscriber must receive it, or None if it is dropped.

        ``tail`` is ``data[12:]`` when the caller has it already (one slice for all subscribers);
        ``vp8_at`` where its VP8 payload descriptor starts (-1: not VP8), whose picture ids are rewritten.
        """
        munger = self.munger
        starting, last = source_ssrc != munger.source_ssrc, munger.last_out_seq
        numbers = munger.munge(source_ssrc, header.sequence, header.timestamp, now)
        if numbers is None:
            return None
        first = data[0]
        second = (0x80 if header.marker else 0) | self.payload_type
        if self.ext_map is None and vp8_at < 0:
            return _HEADER.pack(first, second, numbers[0], numbers[1], self.ssrc) + (data[12:] if tail is None else tail)
        buf = bytearray(data)
        rtp.rewrite_header(buf, self.payload_type, header.marker, numbers[0], numbers[1], self.ssrc)
        if self.ext_map is not None:
            rtp.remap_extension_ids(buf, header, self.ext_map)
        if vp8_at >= 0:
            munger.rewrite_picture(buf, vp8_at, starting, seq_delta(numbers[0], last) > 0)
        return bytes(buf)

    def retransmission(self, data: bytes, out_seq: int) -> bytes:
        """A cached source packet re-sent under the outgoing sequence number the subscriber NACKed."""
        header = rtp.parse_header(data)
        second = (0x80 if header.marker else 0) | self.payload_type
        packet = _HEADER.pack(data[0], second, out_seq, self.munger.outgoing_timestamp(header.timestamp), self.ssrc) + data[12:]
        if self.ext_map is not None or self.source.vp8:
            buf = bytearray(packet)
            if self.ext_map is not None:
                rtp.remap_extension_ids(buf, header, self.ext_map)
            if self.source.vp8:  # the current segment's offsets; the last sent numbers stay
                self.munger.rewrite_picture(buf, header.payload_start, False, False)
            packet = bytes(buf)
        return packet
