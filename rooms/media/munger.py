"""Per-subscriber sequence number and timestamp rewriting, so that a slot can change source seamlessly.

A subscriber sees each of its slots as one continuous RTP stream with a fixed
SSRC. When the SFU switches the source of a slot (a new active speaker, a pin),
the next packet continues right after the last one sent: sequence number + 1,
and the timestamp advanced by the wall-clock time since the last packet, so the
receiver's jitter buffer sees neither a gap to NACK nor a jump to resync on.
Within one source, reordering and loss are kept as they are (the offset is
constant), so the subscriber's NACKs still map back to the publisher's numbers.
"""
from __future__ import annotations

from rooms.media._forward import MungerState


def seq_delta(a: int, b: int) -> int:
    """Signed distance a - b between 16-bit sequence numbers."""
    d = (a - b) & 0xFFFF
    return d - 0x10000 if d >= 0x8000 else d


class SlotMunger(MungerState):
    """A slot's numbering; its fields live in ``MungerState`` (C), where the forwarding loop updates them (``_forward.c``)."""

    __slots__ = ("clock_rate",)

    def __init__(self, clock_rate: int, initial_seq: int = 0, initial_ts: int = 0) -> None:
        self.clock_rate = clock_rate
        self.source_ssrc: int | None = None
        self.seq_offset = 0
        self.ts_offset = 0
        self.first_in_seq = 0
        self.first_out_seq = 0
        self.last_out_seq = (initial_seq - 1) & 0xFFFF
        self.last_out_ts = initial_ts
        self.last_out_time: float | None = None

    def munge(self, source_ssrc: int, seq: int, ts: int, now: float) -> tuple[int, int] | None:
        """Return the outgoing ``(seq, timestamp)`` for a source packet, or None to drop it.

        A packet from a new source starts a new segment; a late packet that
        belongs before the start of the current segment is dropped (its number
        was already used by the previous source).
        """
        if source_ssrc != self.source_ssrc:
            self._start_segment(source_ssrc, seq, ts, now)
        elif seq_delta(seq, self.first_in_seq) < 0:
            return None
        out_seq = (seq + self.seq_offset) & 0xFFFF
        out_ts = (ts + self.ts_offset) & 0xFFFFFFFF
        if seq_delta(out_seq, self.last_out_seq) > 0:
            self.last_out_seq = out_seq
            self.last_out_ts = out_ts
            self.last_out_time = now
        return out_seq, out_ts

    def _start_segment(self, source_ssrc: int, seq: int, ts: int, now: float) -> None:
        out_seq = (self.last_out_seq + 1) & 0xFFFF
        if self.last_out_time is None:
            out_ts = self.last_out_ts
        else:
            elapsed = int((now - self.last_out_time) * self.clock_rate)
            out_ts = (self.last_out_ts + max(1, elapsed)) & 0xFFFFFFFF
        self.source_ssrc = source_ssrc
        self.seq_offset = (out_seq - seq) & 0xFFFF
        self.ts_offset = (out_ts - ts) & 0xFFFFFFFF
        self.first_in_seq = seq
        self.first_out_seq = out_seq

    def source_sequence(self, out_seq: int) -> int | None:
        """The publisher's sequence number behind an outgoing one, if it belongs to the current segment (for NACKs)."""
        if self.source_ssrc is None:
            return None
        if seq_delta(out_seq, self.first_out_seq) < 0 or seq_delta(out_seq, self.last_out_seq) > 0:
            return None
        return (out_seq - self.seq_offset) & 0xFFFF

    def source_timestamp(self, out_ts: int) -> int:
        return (out_ts - self.ts_offset) & 0xFFFFFFFF

    def outgoing_timestamp(self, source_ts: int) -> int:
        return (source_ts + self.ts_offset) & 0xFFFFFFFF
