"""A published stream as the SFU receives it: one per publisher m-line, known to every worker.

The worker where the publisher is connected receives the packets from the
network; the other workers get the same decrypted bytes over the fan-out
socket. Each worker keeps its own retransmission cache and statistics for
every track, so a NACK is answered by the worker the subscriber is on, without
another hop.

A simulcast camera is one track per layer (``rid``), sharing a ``group`` (the
top layer's track id, which stands for the camera in the room's bookkeeping);
the registry gives them one ``layers`` list, low to high as offered. A layer's
SSRC is 0 until its first packets name its RID (``Peer.on_rtp``). Each worker
learns a layer's frame size from its keyframes and its bitrate from what
arrives (``note_layer``), which is what ``layers.py`` chooses by.
"""
from __future__ import annotations

from rooms.media import h264, vp8
from rooms.media._forward import ReceiveState
from rooms.media.keyframe import KeyframeRequestThrottle
from rooms.media.nack import RetransmissionCache
from rooms.media.speakers import AUDIBLE_LEVEL

SILENT_SAMPLE = 16  # one in this many skippable silent packets is still decrypted (see ``skippable``)


class Track(ReceiveState):
    """The receive statistics (``received``, ``base_seq``, ``extended_highest``, ``count``) are ``ReceiveState``'s (C).

    While ``skippable`` (set by speaker selection for audio with a level whose owner is
    not among the selected speakers), the reader (``_forward.receive``) counts
    its silent packets from their clear header and drops them undecrypted,
    except one in ``SILENT_SAMPLE``: in a 300-seat meeting nearly every audio
    packet is such silence, and decrypting, parsing and discarding it cost as
    much as forwarding. The sampled one keeps libsrtp's rollover counter in
    step with the sequence numbers (it guesses the index from the last packet
    it saw) and keeps the source known to speaker detection. A forged clear
    level can only make the SFU skip a packet or decrypt one; decryption
    authenticates.
    """

    __slots__ = (
        "track_id", "room_id", "owner", "worker", "kind", "screen", "ssrc", "clock_rate", "audio_level_id",
        "cache", "keyframes", "slots", "expected_prior", "received_prior", "last_sr", "last_sr_time", "remb", "held",
        "codec", "parameter_sets", "vp8", "rid", "group", "layers", "arrived", "size", "octets", "bitrate",
    )

    def __init__(
        self, track_id: int, room_id: str, owner: str, worker: int, kind: str, screen: bool,
        ssrc: int, clock_rate: int, audio_level_id: int | None, codec: str = "", rid: str | None = None, group: int = 0,
    ) -> None:
        self.track_id = track_id
        self.room_id = room_id
        self.owner = owner  # participant id
        self.worker = worker  # index of the worker the publisher is connected to
        self.kind = kind
        self.screen = screen
        self.ssrc = ssrc
        self.clock_rate = clock_rate
        self.audio_level_id = audio_level_id
        self.level_id = audio_level_id or 0
        self.audible = AUDIBLE_LEVEL
        self.sample = SILENT_SAMPLE
        self.cache = RetransmissionCache(512 if kind == "video" else 128)
        self.keyframes = KeyframeRequestThrottle(1.0)
        self.slots: list = []  # local subscriber slots currently showing this track
        self.expected_prior = 0
        self.received_prior = 0
        self.last_sr = 0  # middle 32 bits of the last sender report's NTP time
        self.last_sr_time = 0.0
        self.remb: dict[int, int] = {}  # subscriber slot ssrc -> its latest REMB
        self.held = False  # the host muted it (or stopped the video): its packets are dropped at ingress
        self.codec = codec  # the offered mime type, e.g. "video/H264" (a livestream's) or "video/VP8" (a meeting's)
        self.parameter_sets = h264.ParameterSets() if codec.lower() == "video/h264" else None  # for late joiners (h264.py)
        self.vp8 = kind == "video" and self.parameter_sets is None  # slots rewrite its picture ids (munger.py)
        self.rid = rid  # the simulcast layer's RID, None for a single stream
        self.group = group  # a simulcast layer's camera: the top layer's track id (0: not simulcast)
        self.layers: list[Track] | None = None  # the camera's layers, low to high (set by the registry)
        self.arrived = 0.0  # monotonic time of the last packet
        self.size: tuple[int, int] | None = None  # a layer's frame size, from its last keyframe
        self.octets = 0  # a layer's bytes since the last ``layers.measure``
        self.bitrate = 0  # a layer's bits per second, as last measured

    @property
    def camera_id(self) -> int:
        """What the selection places: the camera (all its layers) or the single track."""
        return self.group or self.track_id

    def note_layer(self, data: bytes, header, now: float) -> None:
        """A simulcast layer's packet: when it came, its bytes, and the frame size if it starts a keyframe."""
        self.arrived = now
        self.octets += len(data)
        size = vp8.keyframe_size(data[header.payload_start : header.payload_end]) if self.vp8 else None
        if size is not None:
            self.size = size

    def starts_keyframe(self, payload: bytes | memoryview) -> bool:
        """Whether a keyframe begins in this packet's payload, read as this track's codec."""
        return h264.is_keyframe_start(payload) if self.parameter_sets is not None else vp8.is_keyframe_start(payload)

    def keyframe_lead(self, data: bytes, header) -> bytes | None:
        """A packet a slot starting at the keyframe ``data`` needs first (H.264's SPS/PPS), or None."""
        return self.parameter_sets.lead(data, header) if self.parameter_sets is not None else None

    def loss_report(self) -> tuple[int, int]:
        """``(fraction_lost_1_256, cumulative_lost)`` since the previous call; advances the interval."""
        if self.base_seq is None:
            return 0, 0
        expected = self.extended_highest - self.base_seq + 1
        lost = expected - self.received
        expected_interval = expected - self.expected_prior
        lost_interval = expected_interval - (self.received - self.received_prior)
        self.expected_prior, self.received_prior = expected, self.received
        fraction = (lost_interval << 8) // expected_interval if expected_interval > 0 and lost_interval > 0 else 0
        return min(fraction, 255), max(-0x800000, min(lost, 0x7FFFFF))
