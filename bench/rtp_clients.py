"""What the benches' RTP clients share: counting received packets per SSRC, and reading their sockets by polling.

Used by ``bench/meeting.py`` and ``bench/janus_videoroom.py``.
"""
from __future__ import annotations

import asyncio
import select

from rooms.media.probe import ProbeClient

POLL_INTERVAL = 0.001  # seconds between two reads of the clients' sockets


def count_rtp(streams: dict[int, list[int]], data: bytes) -> int:
    """Count one received SRTP packet in ``streams`` (ssrc -> [first, highest extended sequence, packets]); return its sequence number.

    Only the header is read, which SRTP leaves in the clear: decrypting every
    packet would make the clients, not the server, the bottleneck of a 2-core machine.
    """
    seq = (data[2] << 8) | data[3]
    ssrc = int.from_bytes(data[8:12], "big")
    stream = streams.get(ssrc)
    if stream is None:
        streams[ssrc] = [seq, seq, 1]
    else:
        delta = (seq - stream[1]) & 0xFFFF
        if delta < 0x8000:
            stream[1] += delta
        stream[2] += 1
    return seq


def expected_and_received(streams: list[list[int]]) -> tuple[int, int]:
    """Packets the counted streams' sequence ranges span, and packets that arrived (the difference was lost)."""
    return sum(s[1] - s[0] + 1 for s in streams), sum(s[2] for s in streams)


class Poller:
    """Reads the clients' sockets from an epoll set of its own every ``POLL_INTERVAL``, not from the event loop's.

    On loopback or a veth pair the sender's ``send`` pays for the receiving
    stack and for waking the receiving process: with the clients' sockets in
    the event loop's epoll, nearly every packet the server sent would wake a
    sleeping client process, and the server's CPU figure would carry the
    clients' wake-ups, which a network card never charges the sender. Polled,
    a packet only joins the socket's queue. A latency figure includes the
    wait for the next poll (at most ``POLL_INTERVAL``).
    """

    def __init__(self) -> None:
        self.epoll = select.epoll()
        self.readers: dict[int, object] = {}

    def add(self, client: ProbeClient) -> None:
        loop = asyncio.get_running_loop()
        for fd, reader in client.transport.readers.items():
            loop._remove_reader(fd)  # the selector loop's own call; remove_reader refuses a transport's descriptor
            self.epoll.register(fd, select.EPOLLIN)
            self.readers[fd] = reader

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Until ``stop`` is set (or the task is cancelled), drain every ready socket each poll."""
        readers = self.readers
        try:
            while stop is None or not stop.is_set():
                for fd, _ in self.epoll.poll(0):
                    read = readers[fd]
                    while read():  # a reader takes a bounded batch a call: the whole backlog since the last poll
                        pass
                await asyncio.sleep(POLL_INTERVAL)
        finally:
            self.epoll.close()
