"""A light WebRTC participant for load tests and probes: real ICE, DTLS and SRTP, but no media stack.

It offers slots and publications like a browser would, sends pre-built
Opus-sized RTP packets carrying an RFC 6464 audio level and the send time
(``time.monotonic()``, comparable across processes on one machine), and
counts what it receives. It costs a few microseconds per packet instead of an
Opus encoder per participant, so one machine can play hundreds of them.
"""
from __future__ import annotations

import secrets
import struct
import time

from aiortc import sdp
from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsParameters
from aiortc.rtcrtpparameters import RTCRtcpFeedback, RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters, RTCRtpParameters

from rooms.media import rtp
from rooms.media.transport import PeerTransport

OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111, parameters={"minptime": 10, "useinbandfec": 1})
VP8 = RTCRtpCodecParameters(
    mimeType="video/VP8", clockRate=90000, payloadType=96,
    rtcpFeedback=[RTCRtcpFeedback("nack"), RTCRtcpFeedback("nack", "pli"), RTCRtcpFeedback("goog-remb")],
)
AUDIO_LEVEL_ID = 1
_STAMP = struct.Struct("!d")
# An audio packet up to the send time: fixed header (V=2, X=1), a one-byte extension block of one word
# holding the audio level (id AUDIO_LEVEL_ID, length 1, two padding bytes), then the stamp.
_AUDIO_HEAD = struct.Struct("!BBHIIHHBB2xd")


class ProbeClient:
    def __init__(self, certificate: RTCCertificate, *, audio_slots: int = 3, video_slots: int = 0, publish_audio: bool = True, publish_video: bool = False, screen_slot: bool = False, payload_size: int = 80) -> None:
        self.transport = PeerTransport(certificate, self._on_rtp, self._on_rtcp)
        self.transport.ice._connection.ice_controlling = True
        self.audio_slots = audio_slots
        self.video_slots = video_slots
        self.publish_audio = publish_audio
        self.publish_video = publish_video
        self.publish_screen = False  # set, then offer() again, to renegotiate with a screen share
        self.screen_slot = screen_slot
        self.screen_mids: list[str] = []
        self.screen_ssrc = secrets.randbits(32) or 3
        self.screen_seq = secrets.randbits(16)
        self.audio_ssrc = secrets.randbits(32) or 1
        self.video_ssrc = secrets.randbits(32) or 2
        self.seq = secrets.randbits(16)
        self.ts = secrets.randbits(32)
        self.video_seq = secrets.randbits(16)
        self.padding = bytes(max(0, payload_size - _STAMP.size))
        self.received: dict[int, int] = {}  # ssrc -> packets
        self.latencies: list[float] = []
        self.rtcp: list[bytes] = []
        self.record_latency = True
        self.slot_ssrcs: dict[str, int] = {}  # our receive m-lines' mid -> the SSRC the SFU sends them on
        self.last_payload: dict[int, bytes] = {}  # ssrc -> payload of the latest packet (tests: who is shown)
        self.sequences: dict[int, list[int]] | None = None  # ssrc -> sequence numbers, when recording

    async def offer(self) -> str:
        await self.transport.gather()
        ice, candidates = self.transport.local_ice()
        description = sdp.SessionDescription()
        description.origin = f"- {secrets.randbelow(1 << 62)} 0 IN IP4 0.0.0.0"
        description.msid_semantic.append(sdp.GroupDescription(semantic="WMS", items=["*"]))
        mids = []

        def add(kind: str, direction: str, ssrc: int | None) -> None:
            mid = str(len(mids))
            mids.append(mid)
            codec = OPUS if kind == "audio" else VP8
            media = sdp.MediaDescription(kind=kind, port=candidates[0].port, profile="UDP/TLS/RTP/SAVPF", fmt=[codec.payloadType])
            media.host = candidates[0].ip
            media.direction = direction
            extensions = [RTCRtpHeaderExtensionParameters(id=AUDIO_LEVEL_ID, uri=rtp.AUDIO_LEVEL_URI)] if kind == "audio" else []
            media.rtp = RTCRtpParameters(codecs=[codec], headerExtensions=extensions, muxId=mid)
            media.rtcp_host, media.rtcp_port, media.rtcp_mux = "0.0.0.0", 9, True
            if ssrc is not None:
                media.ssrc = [sdp.SsrcDescription(ssrc=ssrc, cname="probe")]
                media.msid = f"probe {kind}"
            media.ice = ice
            media.ice_candidates = candidates
            media.ice_candidates_complete = True
            media.dtls = RTCDtlsParameters(fingerprints=self.transport.fingerprints(), role="auto")
            description.media.append(media)

        if self.publish_audio:
            add("audio", "sendonly", self.audio_ssrc)
        if self.publish_video:
            add("video", "sendonly", self.video_ssrc)
        for _ in range(self.audio_slots):
            add("audio", "recvonly", None)
        for _ in range(self.video_slots):
            add("video", "recvonly", None)
        self.screen_mids = []
        if self.screen_slot:
            self.screen_mids.append(str(len(mids)))
            add("video", "recvonly", None)
        if self.publish_screen:  # last, so that a renegotiation keeps the earlier mids
            self.screen_mids.append(str(len(mids)))
            add("video", "sendonly", self.screen_ssrc)
        description.group.append(sdp.GroupDescription(semantic="BUNDLE", items=mids))
        return str(description)

    async def accept(self, answer_text: str) -> None:
        """Connect with the SFU's answer; returns once DTLS is up."""
        self.read_answer(answer_text)
        media = sdp.SessionDescription.parse(answer_text).media[0]
        role = "client" if media.dtls.role == "server" else "server"
        await self.transport.start(media.ice, media.ice_candidates, media.dtls, role)
        await self.transport.connected

    def read_answer(self, answer_text: str) -> None:
        """Learn the SSRCs of our slots, by mid (also after a renegotiation)."""
        answer = sdp.SessionDescription.parse(answer_text)
        self.slot_ssrcs = {m.rtp.muxId: m.ssrc[0].ssrc for m in answer.media if m.ssrc}

    def send_audio(self, level: int = 30) -> None:
        """One 20 ms Opus-sized packet with its audio level and send time."""
        self.seq = (self.seq + 1) & 0xFFFF
        self.ts = (self.ts + 960) & 0xFFFFFFFF
        head = _AUDIO_HEAD.pack(
            0x90, OPUS.payloadType, self.seq, self.ts, self.audio_ssrc, rtp.ONE_BYTE_PROFILE, 1, AUDIO_LEVEL_ID << 4, level & 0x7F, time.monotonic(),
        )
        self.transport.send_rtp(head + self.padding)

    def send_video(self, payload: bytes, timestamp: int, screen: bool = False) -> None:
        """One single-packet VP8 frame (``payload`` includes the VP8 payload descriptor)."""
        if screen:
            self.screen_seq = seq = (self.screen_seq + 1) & 0xFFFF
        else:
            self.video_seq = seq = (self.video_seq + 1) & 0xFFFF
        ssrc = self.screen_ssrc if screen else self.video_ssrc
        self.transport.send_rtp(rtp.build_packet(payload_type=VP8.payloadType, sequence=seq, timestamp=timestamp, ssrc=ssrc, payload=payload, marker=True))

    def _on_rtp(self, data: bytes) -> None:
        header = rtp.parse_header(data)
        self.received[header.ssrc] = self.received.get(header.ssrc, 0) + 1
        self.last_payload[header.ssrc] = data[header.payload_start : header.payload_end]
        if self.sequences is not None:
            self.sequences.setdefault(header.ssrc, []).append(header.sequence)
        if self.record_latency and header.payload_type == OPUS.payloadType and header.payload_end - header.payload_start >= 8:
            self.latencies.append(time.monotonic() - _STAMP.unpack_from(data, header.payload_start)[0])

    def _on_rtcp(self, data: bytes) -> None:
        self.rtcp.append(data)

    async def close(self) -> None:
        await self.transport.stop()
