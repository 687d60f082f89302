"""A sink's slot: one stream the SFU sends, with a fixed SSRC, showing whichever source is selected.

A WebRTC sink has one per ``recvonly`` m-line; a local sink (the recorder)
one per stream it writes (``rooms/media/forwarder.py`` says what a sink is).

``forward`` is the per-subscriber step of the hot path: munge sequence number
and timestamp, build the rewritten header, protect, send. A video slot that
changed source waits for a keyframe of the new source before sending
anything, and asks for one.
"""
from __future__ import annotations

import struct

from rooms.media import rtp
from rooms.media._forward import SlotState
from rooms.media.munger import SlotMunger

_HEADER = struct.Struct("!BBHII")


class Slot(SlotState):
    """transport, munger, ext_map, ssrc, payload_type and waiting_keyframe are ``SlotState``'s (C): the forwarding loop reads them there."""

    __slots__ = ("sink", "send", "mid", "kind", "screen", "source", "audio_level_id")

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
        self.waiting_keyframe = False
        self.ext_map: dict[int, int] | None = None  # publisher ext id -> ours, None when identical
        self.audio_level_id = audio_level_id

    def _write(self, packet: bytes) -> None:
        self.sink.write(self, packet)

    def show(self, track) -> bool:
        """Point the slot at another source; return True if it now needs a keyframe."""
        if self.source is track:
            return False
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

    def packet_for(self, data: bytes, header: rtp.RtpHeader, now: float, source_ssrc: int, tail: bytes | None = None) -> bytes | None:
        """The packet as this subscriber must receive it, or None if it is dropped.

        ``tail`` is ``data[12:]`` when the caller has it already (one slice for all subscribers).
        """
        numbers = self.munger.munge(source_ssrc, header.sequence, header.timestamp, now)
        if numbers is None:
            return None
        first = data[0]
        second = (0x80 if header.marker else 0) | self.payload_type
        if self.ext_map is None:
            return _HEADER.pack(first, second, numbers[0], numbers[1], self.ssrc) + (data[12:] if tail is None else tail)
        buf = bytearray(data)
        rtp.rewrite_header(buf, self.payload_type, header.marker, numbers[0], numbers[1], self.ssrc)
        rtp.remap_extension_ids(buf, header, self.ext_map)
        return bytes(buf)

    def retransmission(self, data: bytes, out_seq: int) -> bytes:
        """A cached source packet re-sent under the outgoing sequence number the subscriber NACKed."""
        header = rtp.parse_header(data)
        second = (0x80 if header.marker else 0) | self.payload_type
        packet = _HEADER.pack(data[0], second, out_seq, self.munger.outgoing_timestamp(header.timestamp), self.ssrc) + data[12:]
        if self.ext_map is not None:
            buf = bytearray(packet)
            rtp.remap_extension_ids(buf, header, self.ext_map)
            packet = bytes(buf)
        return packet
