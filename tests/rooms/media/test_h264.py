"""H.264 in the media path (rooms/media/h264.py), on real packets: libx264 (PyAV) encodes, aiortc's packetizer
(Chromium-style: STAP-A and FU-A) or one NAL unit per packet (OBS-style) packetizes; keyframes are found in single
NAL, STAP-A and FU-A packets, the SPS/PPS are kept, and a viewer starting at the keyframe decodes it."""
from __future__ import annotations

import fractions
import os
import struct

import av
import pytest
from aiortc.codecs.h264 import H264Encoder, H264PayloadDescriptor
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from rooms.media import h264, rtp
from rooms.media.offer import OfferError, check_offer, pick_codec, video_codecs_for
from rooms.media.track import Track
from tests.rooms.media.test_offer import CHROME_OFFER

PT, SSRC = 102, 0x1234


def picture(width: int, height: int, n: int, noise: bool = True) -> av.VideoFrame:
    frame = av.VideoFrame(width, height, "yuv420p")
    for plane in frame.planes:
        plane.update(os.urandom(plane.buffer_size) if noise else bytes([100 + n]) * plane.buffer_size)
    frame.pts, frame.time_base = n * 3000, fractions.Fraction(1, 90000)
    return frame


def chromium_style(frames: int, width=640, height=480, noise=True) -> list[list[bytes]]:
    """Payloads per frame as aiortc packetizes them (as libwebrtc does: small NAL units in a STAP-A, big ones in FU-As)."""
    encoder = H264Encoder()
    return [encoder.encode(picture(width, height, n, noise), force_keyframe=n == 0)[0] for n in range(frames)]


def obs_style(frames: int, width=640, height=480) -> list[list[bytes]]:
    """Payloads per frame with one NAL unit per packet, or its FU-A fragments (as libdatachannel packetizes for OBS)."""
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base, codec.options = fractions.Fraction(1, 30), {"tune": "zerolatency", "preset": "ultrafast"}
    out = []
    for n in range(frames):
        frame = picture(width, height, n)
        frame.pts, frame.time_base = n, fractions.Fraction(1, 30)
        payloads = []
        for packet in codec.encode(frame):
            for nal in H264Encoder._split_bitstream(bytes(packet)):
                payloads += [nal] if len(nal) <= 1200 else H264Encoder._packetize_fu_a(nal)
        out.append(payloads)
    return out


def rtp_packets(frames: list[list[bytes]], first_seq: int = 1000) -> list[bytes]:
    packets, seq = [], first_seq
    for n, payloads in enumerate(frames):
        for i, payload in enumerate(payloads):
            marker = 0x80 if i == len(payloads) - 1 else 0
            packets.append(struct.pack("!BBHII", 0x80, marker | PT, seq & 0xFFFF, n * 3000, SSRC) + payload)
            seq += 1
    return packets


def kinds(payload: bytes) -> tuple[int, ...]:
    kind = payload[0] & 0x1F
    if kind == h264.STAP_A:
        return tuple(nal[0] & 0x1F for nal in h264.aggregated(payload))
    return (kind, payload[1] & 0x1F) if kind == h264.FU_A else (kind,)


def decode(packets: list[bytes]) -> list[av.VideoFrame]:
    """What a viewer's decoder makes of these packets (aiortc's depacketizer, FFmpeg's H.264 decoder)."""
    stream = b""
    for data in packets:
        header = rtp.parse_header(data)
        stream += H264PayloadDescriptor.parse(data[header.payload_start : header.payload_end])[1]
    decoder = av.CodecContext.create("h264", "r")
    frames = []
    for packet in decoder.parse(stream) + decoder.parse(None):  # the parser holds the last access unit until flushed
        try:
            frames += decoder.decode(packet)
        except av.error.InvalidDataError:  # a picture without its parameter sets: a player skips it
            continue
    return frames + list(decoder.decode(None))


def starting_at_first_keyframe(track: Track, packets: list[bytes]) -> list[bytes]:
    """What a slot that waited for a keyframe sends: nothing before it, the track's lead (SPS/PPS) and then it all."""
    sent = []
    for data in packets:
        header = rtp.parse_header(data)
        track.parameter_sets.observe(data[header.payload_start : header.payload_end])
        if not sent:
            if not track.starts_keyframe(data[header.payload_start : header.payload_end]):
                continue
            lead = track.keyframe_lead(data, header)
            if lead is not None:
                sent.append(lead)
        sent.append(data)
    return sent


def h264_track() -> Track:
    return Track(1, "live-1", "publisher", 0, "video", False, SSRC, 90000, None, "video/H264")


def test_chromium_style_keyframe_starts_at_the_idr_fu_a_and_the_sps_pps_come_from_the_stap_a_before_it():
    frames = chromium_style(3)
    keyframe = frames[0]
    assert kinds(keyframe[0])[:2] == (h264.SPS, h264.PPS) and kinds(keyframe[1]) == (h264.FU_A, h264.IDR)
    idr_slices = [i for i, payload in enumerate(keyframe) if kinds(payload) == (h264.FU_A, h264.IDR) and payload[1] & 0x80]
    starts = [i for i, payload in enumerate(keyframe) if h264.is_keyframe_start(payload)]
    assert len(idr_slices) > 1 and starts == [1]  # the first fragment of the first slice: not a later slice, nor the parameter sets
    assert not any(h264.is_keyframe_start(payload) for frame in frames[1:] for payload in frame)  # P frames

    sets = h264.ParameterSets()
    for payload in keyframe:
        sets.observe(payload)
    stap = keyframe[0]
    assert sets.sps == next(bytes(n) for n in h264.aggregated(stap) if n[0] & 0x1F == h264.SPS)
    assert sets.pps == next(bytes(n) for n in h264.aggregated(stap) if n[0] & 0x1F == h264.PPS)


def test_a_small_keyframe_aggregated_whole_in_one_stap_a_is_a_keyframe_and_needs_no_lead():
    (keyframe,) = chromium_style(1, 32, 32, noise=False)
    assert len(keyframe) == 1 and {h264.SPS, h264.PPS, h264.IDR} <= set(kinds(keyframe[0]))
    assert h264.is_keyframe_start(keyframe[0])
    track = h264_track()
    sent = starting_at_first_keyframe(track, rtp_packets([keyframe]))
    assert len(sent) == 1  # it carries its SPS and PPS: nothing is added
    assert len(decode(sent)) == 1


def test_obs_style_single_nal_keyframes_are_found_and_a_viewer_joining_late_decodes_from_the_lead():
    frames = obs_style(40)
    packets = rtp_packets(frames)
    singles = [p for p in packets if p[12] & 0x1F in (h264.SPS, h264.PPS)]
    assert singles, "x264 sends its SPS/PPS as single NAL units"
    idr_starts = [p for p in packets if h264.is_keyframe_start(p[12:])]
    assert idr_starts and all(kinds(p[12:])[-1] == h264.IDR or kinds(p[12:]) == (h264.IDR,) for p in idr_starts)

    track = h264_track()
    first_idr = packets.index(idr_starts[0])
    late = packets[first_idr:]  # joined after the SPS/PPS packets went by: only the track's memory has them
    for data in packets[:first_idr]:
        header = rtp.parse_header(data)
        track.parameter_sets.observe(data[header.payload_start : header.payload_end])
    lead = track.keyframe_lead(late[0], rtp.parse_header(late[0]))
    header, first = rtp.parse_header(lead), rtp.parse_header(late[0])
    assert kinds(lead[12:]) == (h264.SPS, h264.PPS) and header.timestamp == first.timestamp
    assert header.sequence == (first.sequence - 1) & 0xFFFF and header.ssrc == SSRC and header.payload_type == PT
    assert decode(late) == []  # without them the IDR does not decode
    frames_seen = decode([lead] + late)
    assert len(frames_seen) == 40 - _frame_index(packets[first_idr])  # every frame from the keyframe on
    assert (frames_seen[0].width, frames_seen[0].height) == (640, 480)


def _frame_index(data: bytes) -> int:
    return rtp.parse_header(data).timestamp // 3000


def test_a_track_remembers_the_latest_parameter_sets_and_a_slot_starting_mid_stream_decodes_every_frame_after():
    packets = rtp_packets(chromium_style(4))
    track = h264_track()
    sent = starting_at_first_keyframe(track, packets)
    assert kinds(sent[0][12:]) == (h264.SPS, h264.PPS)  # the lead: the STAP-A with SEI before the IDR was skipped
    assert len(decode(sent)) == 4


def test_malformed_h264_payloads_are_neither_keyframes_nor_parameter_sets_and_never_raise():
    sets = h264.ParameterSets()
    for payload in (b"", b"\x18", b"\x18\x00\x05\x67", b"\x18\xff\xff\x67\x00", b"\x1c", b"\x1c\x85", b"\x7c\x05"):
        assert h264.is_keyframe_start(payload) in (False, True)
        sets.observe(payload)
    assert not h264.is_keyframe_start(b"\x18\x00\x05\x65") and sets.sps is None and sets.pps is None
    assert h264.is_keyframe_start(b"\x7c\x85\x88") and not h264.is_keyframe_start(b"\x7c\x05\x88")  # FU-A S=1 only
    assert not h264.is_keyframe_start(b"\x7c\x85\x08")  # a later slice of the picture


def codec(pt: int, mode: str, profile: str) -> RTCRtpCodecParameters:
    return RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000, payloadType=pt,
                                 parameters={"packetization-mode": mode, "profile-level-id": profile})


def test_streams_take_h264_with_packetization_mode_1_in_the_most_decodable_profile_and_meetings_keep_vp8():
    live, meeting = video_codecs_for("live-7"), video_codecs_for("7")
    assert live[0] == "video/H264" and meeting == ("video/VP8",)
    chosen = check_offer(CHROME_OFFER, video_codecs=live).sections
    video = next(s for s in chosen if s.kind == "video")
    assert video.codec.mimeType == "video/H264" and video.codec.parameters["profile-level-id"] == "42e01f"
    assert video.codec.parameters["packetization-mode"] in (1, "1")
    assert next(s for s in check_offer(CHROME_OFFER).sections if s.kind == "video").codec.mimeType == "video/VP8"

    obs = [codec(96, "1", "640c1f")]
    assert pick_codec(obs, live).parameters["profile-level-id"] == "640c1f"
    assert pick_codec([codec(96, "0", "42e01f"), codec(97, "1", "4d001f"), codec(98, "1", "42e01f")], live).payloadType == 98
    assert pick_codec([codec(96, "0", "42e01f")], live) is None  # mode 0 only, and no VP8 either
    only_h264 = CHROME_OFFER.replace("VP8/90000", "VP7/90000")
    with pytest.raises(OfferError, match="offers no VP8"):
        check_offer(only_h264)  # a meeting
    assert next(s for s in check_offer(only_h264, video_codecs=live).sections if s.kind == "video").codec.mimeType == "video/H264"


def test_an_sfu_slot_that_starts_at_an_idr_fragment_gets_the_tracks_sps_pps_first_and_decodes_every_frame():
    from rooms.media.forwarder import Forwarder
    from rooms.media.slot import Slot

    forwarder = Forwarder(0)
    track = h264_track()
    sent: list[bytes] = []

    class Sink:  # a local sink (rooms/media/forwarder.py): packets in the clear, as HLS and the recorder take them
        transport = None

        def write(self, slot, packet: bytes) -> None:
            sent.append(packet)

    slot = Slot(Sink(), "0", "video", False, 0xBEEF, 108, 90000, None)
    assert forwarder.attach(slot, track) and slot.waiting_keyframe
    for data in rtp_packets(chromium_style(4)):
        forwarder.deliver(track, data, rtp.parse_header(data), 0.0)
    first, second = rtp.parse_header(sent[0]), rtp.parse_header(sent[1])
    assert kinds(sent[0][12:]) == (h264.SPS, h264.PPS) and kinds(sent[1][12:]) == (h264.FU_A, h264.IDR)
    assert second.sequence == (first.sequence + 1) & 0xFFFF and first.timestamp == second.timestamp
    assert {rtp.parse_header(p).ssrc for p in sent} == {0xBEEF} and {rtp.parse_header(p).payload_type for p in sent} == {108}
    assert len(decode(sent)) == 4
