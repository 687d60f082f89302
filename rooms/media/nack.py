"""The retransmission cache: recent packets of one source, by sequence number, to answer NACKs.

A fixed ring indexed by ``seq % size`` holds the decrypted packet bytes; a slot
also remembers its full sequence number so a stale entry (an older packet that
happened to share the index) is never sent in place of the one asked for.
Storing is two list assignments; nothing is copied (the bytes object is shared
with the forwarding path, which copies into a bytearray only to rewrite).
At 50 video packets/s per source, 512 entries keep about 10 s of history.
"""
from __future__ import annotations


class RetransmissionCache:
    __slots__ = ("_mask", "_seqs", "_packets")

    def __init__(self, size: int = 512) -> None:
        if size & (size - 1):
            raise ValueError("retransmission cache size must be a power of two")
        self._mask = size - 1
        self._seqs: list[int] = [-1] * size
        self._packets: list[bytes | None] = [None] * size

    def store(self, seq: int, packet: bytes) -> None:
        index = seq & self._mask
        self._seqs[index] = seq
        self._packets[index] = packet

    def get(self, seq: int) -> bytes | None:
        index = seq & self._mask
        if self._seqs[index] != seq:
            return None
        return self._packets[index]
