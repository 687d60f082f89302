"""What the benches' RTP clients share: counting received packets per SSRC, and reading their sockets by polling.

Used by ``bench/meeting.py`` and ``bench/janus_videoroom.py``.
"""
from __future__ import annotations

import asyncio
import select

from rooms.media._forward import ReceiveState
from rooms.media.probe import ProbeClient

POLL_INTERVAL = 0.001  # seconds between two reads of the clients' sockets


def count_decrypted(streams: dict[int, ReceiveState], data: bytes, sample: int) -> None:
    """Count an RTP packet that reached ``on_rtp`` (the first of its SSRC, or one the reader sampled) in ``streams``.

    The client's reader (``_forward.receive``) counts the others in C from the
    clear SRTP header, without decrypting them: decrypting, or even reading
    every packet in Python, made the clients, not the server, the bottleneck
    of a 2-core machine. A stream's first packet reaches Python (its SSRC is
    not known yet), which adds the stream: afterwards one packet in
    ``sample`` (0: none) is handed over decrypted.
    """
    ssrc = int.from_bytes(data[8:12], "big")
    stream = streams.get(ssrc)
    if stream is None:
        stream = streams[ssrc] = ReceiveState()
        stream.skippable, stream.sample = True, sample
    stream.count((data[2] << 8) | data[3])


def expected_and_received(streams: list[ReceiveState]) -> tuple[int, int]:
    """Packets the counted streams' sequence ranges span, and packets that arrived (the difference was lost)."""
    return sum(s.extended_highest - s.base_seq + 1 for s in streams), sum(s.received for s in streams)


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
