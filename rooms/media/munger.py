"""Per-subscriber sequence number and timestamp rewriting, so that a slot can change source seamlessly.

A subscriber sees each of its slots as one continuous RTP stream with a fixed
SSRC. When the SFU switches the source of a slot (a new active speaker, a pin),
the next packet continues right after the last one sent: sequence number + 1,
and the timestamp advanced by the wall-clock time since the last packet, so the
receiver's jitter buffer sees neither a gap to NACK nor a jump to resync on.
Within one source, reordering and loss are kept as they are (the offset is
constant), so the subscriber's NACKs still map back to the publisher's numbers.

VP8 carries its own frame numbering in the payload descriptor: the picture
id (7 or 15 bits) and, with temporal layers, TL0PICIDX. Each source (each
simulcast layer of one camera too) counts from its own random start, so a
switch would show the receiver's decoder a jump it takes for lost frames.
``rewrite_picture`` continues both from the last ones sent, as the sequence
number is; the C loop applies the same offsets in the steady state.
"""
from __future__ import annotations

from rooms.media import vp8
from rooms.media._forward import MungerState

NO_PICTURE = 0xFFFFFFFF  # last_out_pid / last_out_tl0 before any VP8 descriptor with one was sent


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
        self.pid_offset = self.tl0_offset = 0
        self.last_out_pid = self.last_out_tl0 = NO_PICTURE

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

    def rewrite_picture(self, packet: bytearray, at: int, starting: bool, ahead: bool) -> None:
        """Rewrite the VP8 descriptor at ``at`` of a munged packet: picture id and TL0PICIDX continue the slot's.

        ``starting``: the packet opened a new segment (``munge`` saw a new source), which
        sets the offsets; ``ahead``: it is the newest packet sent, whose numbers become the last sent.
        """
        pid_at, wide, tl0_at = vp8.picture_fields(packet, at)
        pid = None if pid_at is None else ((packet[pid_at] & 0x7F) << 8 | packet[pid_at + 1]) if wide else packet[pid_at] & 0x7F
        if starting:
            self.pid_offset = (self.last_out_pid + 1 - pid) & 0x7FFF if pid is not None and self.last_out_pid != NO_PICTURE else 0
            self.tl0_offset = (self.last_out_tl0 + 1 - packet[tl0_at]) & 0xFF if tl0_at is not None and self.last_out_tl0 != NO_PICTURE else 0
        if pid is not None:
            out = (pid + self.pid_offset) & 0x7FFF
            if wide:
                packet[pid_at], packet[pid_at + 1] = 0x80 | out >> 8, out & 0xFF
            else:
                packet[pid_at] = out & 0x7F
            if ahead:
                self.last_out_pid = out
        if tl0_at is not None:
            out = (packet[tl0_at] + self.tl0_offset) & 0xFF
            packet[tl0_at] = out
            if ahead:
                self.last_out_tl0 = out

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
