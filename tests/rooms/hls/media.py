"""Real H.264 and Opus as RTP for the HLS tests: libx264 and libopus (PyAV) encode, aiortc's packetizer packetizes."""
from __future__ import annotations

import fractions
import math
import struct

import av
from aiortc.codecs.h264 import H264Encoder

VIDEO_PT, AUDIO_PT, VIDEO_SSRC, AUDIO_SSRC = 102, 111, 0x1234, 0x5678


def h264_frames(frames: int, width: int = 320, height: int = 240, gop: int = 30) -> list[tuple[bytes, bool]]:
    """Annex B access units of a moving picture at 30 frames/s with a keyframe every ``gop`` frames, and whether each is one."""
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt, codec.gop_size = width, height, "yuv420p", gop
    codec.time_base = fractions.Fraction(1, 30)
    codec.options = {"tune": "zerolatency", "preset": "ultrafast", "x264-params": "scenecut=0"}
    out = []
    for n in range(frames):
        frame = av.VideoFrame(width, height, "yuv420p")
        for i, plane in enumerate(frame.planes):
            plane.update(bytes((x + 3 * n + 60 * i) & 0xFF for x in range(plane.line_size)) * (plane.buffer_size // plane.line_size))
        frame.pts, frame.time_base = n, fractions.Fraction(1, 30)
        out += [(bytes(p), p.is_keyframe) for p in codec.encode(frame)]
    return out + [(bytes(p), p.is_keyframe) for p in codec.encode(None)]


def video_rtp(units: list[tuple[bytes, bool]], first_seq: int = 1000) -> list[bytes]:
    """Chromium-style packets (parameter sets aggregated in a STAP-A, big NAL units in FU-As), 3000 ticks a frame."""
    packets, seq = [], first_seq
    for n, (data, _) in enumerate(units):
        payloads = H264Encoder._packetize(H264Encoder._split_bitstream(data))
        for i, payload in enumerate(payloads):
            marker = 0x80 if i == len(payloads) - 1 else 0
            packets.append(struct.pack("!BBHII", 0x80, marker | VIDEO_PT, seq & 0xFFFF, n * 3000, VIDEO_SSRC) + payload)
            seq += 1
    return packets


def opus_rtp(seconds: float, first_seq: int = 5000) -> list[bytes]:
    """20 ms Opus packets of a 440 Hz tone."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.layout, codec.format = 48000, "stereo", "s16"
    codec.time_base = fractions.Fraction(1, 48000)
    payloads, samples = [], 960
    for n in range(int(seconds * 50)):
        frame = av.AudioFrame(format="s16", layout="stereo", samples=samples)
        tone = b"".join(struct.pack("<hh", v, v) for v in (int(8000 * math.sin(2 * math.pi * 440 * (n * samples + i) / 48000)) for i in range(samples)))
        frame.planes[0].update(tone)
        frame.sample_rate, frame.pts, frame.time_base = 48000, n * samples, fractions.Fraction(1, 48000)
        payloads += [bytes(p) for p in codec.encode(frame)]
    return [struct.pack("!BBHII", 0x80, AUDIO_PT, (first_seq + n) & 0xFFFF, n * 960, AUDIO_SSRC) + payload for n, payload in enumerate(payloads)]


def interleaved(video: list[bytes], audio: list[bytes]) -> list[tuple[str, bytes]]:
    """Both streams in the order of their media time, as they arrive from a publisher."""
    def at(kind: str, packet: bytes) -> float:
        return struct.unpack_from("!I", packet, 4)[0] / (90000 if kind == "video" else 48000)
    return sorted([("video", p) for p in video] + [("audio", p) for p in audio], key=lambda item: at(*item))
