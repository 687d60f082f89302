"""A published stream as the SFU receives it: one per publisher m-line, known to every worker.

The worker where the publisher is connected receives the packets from the
network; the other workers get the same decrypted bytes over the fan-out
socket. Each worker keeps its own retransmission cache and statistics for
every track, so a NACK is answered by the worker the subscriber is on, without
another hop.
"""
from __future__ import annotations

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
    )

    def __init__(
        self, track_id: int, room_id: str, owner: str, worker: int, kind: str, screen: bool,
        ssrc: int, clock_rate: int, audio_level_id: int | None,
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
