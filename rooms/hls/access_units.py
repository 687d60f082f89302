"""H.264 access units rebuilt from RTP (RFC 6184, packetization-mode 1) for the HLS muxer; nothing is decoded.

Single NAL unit packets, STAP-A (each aggregated unit) and FU-A (fragments
joined, the NAL header rebuilt from the FU indicator and header) give NAL
units; those of one RTP timestamp form an access unit, complete at the
marker bit (or when the timestamp changes, for a sender that never sets it).
An access unit is handed out in Annex B (start codes), which the MP4 muxer
turns into length-prefixed samples.

A gap in the sequence numbers throws the access unit being assembled away
and every one after it until the next IDR picture (what is muxed stays
decodable); ``need_keyframe`` says so, and the sink asks the publisher for
one. A keyframe that does not carry the SPS and PPS gets the latest ones
first, so every segment starts decodable.
"""
from __future__ import annotations

from dataclasses import dataclass

from rooms.media import h264, rtp

START = b"\x00\x00\x00\x01"


@dataclass(frozen=True)
class AccessUnit:
    timestamp: int  # RTP, 90 kHz
    data: bytes  # Annex B
    keyframe: bool


class AccessUnitAssembler:
    def __init__(self) -> None:
        self.need_keyframe = True
        self.dropped = 0  # access units thrown away (incomplete, or waiting for a keyframe)
        self.sps: bytes | None = None
        self.pps: bytes | None = None
        self._timestamp: int | None = None
        self._next_seq: int | None = None
        self._nals: list[bytes] = []
        self._fragment: list[bytes] | None = None  # an FU-A being joined
        self._broken = False  # the access unit being assembled lost a packet

    def push(self, packet: bytes) -> AccessUnit | None:
        """Feed one RTP packet; return the access unit it completes, if any."""
        try:
            header = rtp.parse_header(packet)
        except rtp.RtpError:
            self._broken = True
            return None
        done = None
        if self._timestamp is not None and header.timestamp != self._timestamp:
            done = self._finish()  # the previous unit never got its marker
        if self._next_seq is not None and header.sequence != self._next_seq:
            self._broken = True  # a packet of this unit, or of one before it, is missing
        self._next_seq = (header.sequence + 1) & 0xFFFF
        self._timestamp = header.timestamp
        self._take(packet[header.payload_start : header.payload_end])
        if header.marker:
            return self._finish()
        return done

    def _take(self, payload: bytes) -> None:
        if not payload:
            return
        kind = h264.nal_type(payload[0])
        if kind == h264.FU_A:
            if len(payload) < 3:
                self._broken = True
            elif payload[1] & 0x80:  # start
                self._fragment = [bytes([(payload[0] & 0xE0) | (payload[1] & 0x1F)]), payload[2:]]
            elif self._fragment is None:
                self._broken = True
            else:
                self._fragment.append(payload[2:])
            if self._fragment is not None and payload[1] & 0x40:  # end
                self._nals.append(b"".join(self._fragment))
                self._fragment = None
        elif kind == h264.STAP_A:
            self._nals.extend(bytes(nal) for nal in h264.aggregated(payload))
        elif 1 <= kind <= 23:
            self._nals.append(payload)
        else:
            self._broken = True  # STAP-B, MTAP, FU-B: not packetization-mode 1

    def _finish(self) -> AccessUnit | None:
        nals, timestamp, broken = self._nals, self._timestamp, self._broken or self._fragment is not None
        self._nals, self._timestamp, self._fragment, self._broken = [], None, None, False
        if broken:
            self.dropped += 1
            self.need_keyframe = True
            return None
        if not nals:
            return None
        kinds = {h264.nal_type(nal[0]) for nal in nals}
        for nal in nals:
            if h264.nal_type(nal[0]) == h264.SPS:
                self.sps = nal
            elif h264.nal_type(nal[0]) == h264.PPS:
                self.pps = nal
        keyframe = h264.IDR in kinds
        if keyframe:
            if not {h264.SPS, h264.PPS} <= kinds:
                if self.sps is None or self.pps is None:
                    self.dropped += 1
                    return None  # undecodable: no parameter sets seen yet
                nals = [self.sps, self.pps, *nals]
            self.need_keyframe = False
        elif self.need_keyframe or not kinds & {1, h264.IDR}:
            if self.need_keyframe:
                self.dropped += 1
            return None  # waiting for a keyframe, or parameter sets / SEI alone
        return AccessUnit(timestamp, b"".join(START + nal for nal in nals), keyframe)
