"""H.264 over RTP (RFC 6184, packetization-mode 1) for the forwarder: keyframes and parameter sets, without decoding.

A subscriber's slot that starts or switches source waits for a keyframe, as
for VP8 (``vp8.py``). In H.264 that is the packet where the first slice of an
IDR picture (NAL type 5, first_mb_in_slice 0) begins: a single NAL unit packet
of type 5, a STAP-A (type 24) aggregating one, or the first fragment (S=1) of
an FU-A (type 28) of one.

An IDR decodes only after its SPS (type 7) and PPS (type 8). Encoders send
them in-band before each IDR, but in packets of their own (OBS, libdatachannel)
or aggregated in a STAP-A with the IDR (Chromium, aiortc), and a slot that
starts at the IDR fragment has skipped the former. So each H.264 track keeps
the latest SPS and PPS it carried (``ParameterSets.observe``, on every packet:
one byte read for the common slice packet), and a slot that starts at a
keyframe whose packet does not carry both gets them first, as one STAP-A with
the keyframe's timestamp and the sequence number before it (``lead``).

Which H.264 an offer may use (``acceptable``): packetization-mode=1 (FU-A and
STAP-A; mode 0 would cap a NAL unit at one packet) and the profiles browsers
and OBS send: constrained baseline (42e0..), baseline (4200..), main
(4d00..), constrained high (640c..) and high (6400..), in that order of
preference, since every player decodes the first.

Malformed packets (a STAP-A length past the end, an empty payload) are simply
not keyframes and carry no parameter sets: nothing here raises.
"""
from __future__ import annotations

import struct

from rooms.media import rtp

IDR, SPS, PPS, STAP_A, FU_A = 5, 7, 8, 24, 28
PREFERRED_PROFILES = ("42e0", "4200", "4d00", "640c", "6400")  # profile_idc + constraint flags, most decodable first
_HEADER = struct.Struct("!BBHII")


def nal_type(byte: int) -> int:
    return byte & 0x1F


def aggregated(payload: bytes | memoryview):
    """The NAL units of a STAP-A payload (after its one-byte header), stopping at a length that runs past the end."""
    pos, size = 1, len(payload)
    while pos + 2 <= size:
        length = (payload[pos] << 8) | payload[pos + 1]
        pos += 2
        if length == 0 or pos + length > size:
            return
        yield payload[pos : pos + length]
        pos += length


def _first_slice(byte: int) -> bool:
    """The slice header's first field, first_mb_in_slice (Exp-Golomb), is 0 exactly when its first bit is 1."""
    return byte & 0x80 != 0


def is_keyframe_start(payload: bytes | memoryview) -> bool:
    """Whether a keyframe begins in this packet: the first slice (first_mb_in_slice 0) of an IDR picture, as a
    single NAL unit, in a STAP-A, or in an FU-A's first fragment. Encoders that cut a picture into several
    slices (x264 with sliced threads) send several IDR NAL units per keyframe; only the first starts it."""
    size = len(payload)
    if size < 2:
        return False
    kind = nal_type(payload[0])
    if kind == IDR:
        return _first_slice(payload[1])
    if kind == FU_A:
        return size >= 3 and payload[1] & 0x80 != 0 and nal_type(payload[1]) == IDR and _first_slice(payload[2])
    if kind == STAP_A:
        return any(len(nal) >= 2 and nal_type(nal[0]) == IDR and _first_slice(nal[1]) for nal in aggregated(payload))
    return False


def _parameter_sets_in(payload: bytes | memoryview):
    """The SPS and PPS NAL units a packet carries whole (FU-A fragments of them are not kept)."""
    if not len(payload):
        return
    kind = nal_type(payload[0])
    if kind in (SPS, PPS):
        yield kind, bytes(payload)
    elif kind == STAP_A:
        for nal in aggregated(payload):
            if len(nal) and nal_type(nal[0]) in (SPS, PPS):
                yield nal_type(nal[0]), bytes(nal)


def acceptable(parameters: dict) -> int | None:
    """The rank of an offered H.264 format (lower is preferred), or None if the SFU does not take it."""
    if str(parameters.get("packetization-mode", "0")) != "1":
        return None
    profile = str(parameters.get("profile-level-id", "42001f")).lower()[:4]
    return PREFERRED_PROFILES.index(profile) if profile in PREFERRED_PROFILES else None


class ParameterSets:
    """The latest SPS and PPS of one H.264 track."""

    __slots__ = ("sps", "pps")

    def __init__(self) -> None:
        self.sps: bytes | None = None
        self.pps: bytes | None = None

    def observe(self, payload: bytes | memoryview) -> None:
        """Keep the SPS/PPS this packet carries; a slice or fragment costs one byte read."""
        if len(payload) and nal_type(payload[0]) in (SPS, PPS, STAP_A):
            for kind, nal in _parameter_sets_in(payload):
                if kind == SPS:
                    self.sps = nal
                else:
                    self.pps = nal

    def lead(self, data: bytes, header: rtp.RtpHeader) -> bytes | None:
        """The RTP packet to send before the keyframe packet ``data``: a STAP-A of the SPS and PPS, with the
        keyframe's timestamp, SSRC and payload type and the sequence number before it; None if ``data`` carries
        both already or none is known yet."""
        if self.sps is None or self.pps is None:
            return None
        kinds = {kind for kind, _ in _parameter_sets_in(data[header.payload_start : header.payload_end])}
        if {SPS, PPS} <= kinds:
            return None
        nri = max(self.sps[0], self.pps[0]) & 0x60
        body = bytes([nri | STAP_A]) + struct.pack("!H", len(self.sps)) + self.sps + struct.pack("!H", len(self.pps)) + self.pps
        return _HEADER.pack(0x80, data[1] & 0x7F, (header.sequence - 1) & 0xFFFF, header.timestamp, header.ssrc) + body


class _Bits:
    """An RBSP's bits (emulation prevention bytes removed), read MSB first, with Exp-Golomb codes."""

    def __init__(self, nal: bytes) -> None:
        self.data = nal.replace(b"\x00\x00\x03", b"\x00\x00")
        self.pos = 0

    def u(self, n: int) -> int:
        value = 0
        for _ in range(n):
            byte = self.data[self.pos >> 3]  # IndexError past the end: the SPS is truncated
            value = (value << 1) | ((byte >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("an Exp-Golomb code longer than 32 bits")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        code = self.ue()
        return (code + 1) // 2 if code & 1 else -(code // 2)


def picture_size(sps: bytes) -> tuple[int, int]:
    """Width and height of the pictures an SPS NAL unit (with its header byte) describes (H.264 7.3.2.1.1, cropping applied).

    The HLS muxer writes them into the MP4 track header; raises ValueError for an SPS it cannot read."""
    try:
        bits = _Bits(sps[1:])
        profile = bits.u(8)
        bits.u(16)  # constraint flags, level
        bits.ue()  # seq_parameter_set_id
        chroma = 1
        if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
            chroma = bits.ue()
            if chroma == 3:
                bits.u(1)
            bits.ue(), bits.ue(), bits.u(1)  # bit depths, qpprime_y_zero_transform_bypass
            if bits.u(1):  # seq_scaling_matrix_present: skip the lists
                for i in range(8 if chroma != 3 else 12):
                    if bits.u(1):
                        last = following = 8
                        for _ in range(16 if i < 6 else 64):
                            if following:
                                following = (last + bits.se() + 256) % 256
                            last = following or last
        bits.ue()  # log2_max_frame_num_minus4
        order = bits.ue()
        if order == 0:
            bits.ue()
        elif order == 1:
            bits.u(1), bits.se(), bits.se()
            for _ in range(bits.ue()):
                bits.se()
        bits.ue(), bits.u(1)  # max_num_ref_frames, gaps_in_frame_num_allowed
        width_mbs, height_units = bits.ue() + 1, bits.ue() + 1
        frames_only = bits.u(1)
        if not frames_only:
            bits.u(1)
        bits.u(1)  # direct_8x8_inference
        left = right = top = bottom = 0
        if bits.u(1):
            left, right, top, bottom = bits.ue(), bits.ue(), bits.ue(), bits.ue()
    except IndexError:
        raise ValueError("the SPS ends before its picture size") from None
    crop_x = 1 if chroma == 0 or chroma == 3 else 2
    crop_y = (1 if chroma in (0, 3) else 2 if chroma == 1 else 1) * (2 - frames_only)
    return width_mbs * 16 - crop_x * (left + right), (2 - frames_only) * height_units * 16 - crop_y * (top + bottom)
