"""ICE + DTLS + SRTP for one participant, with raw RTP in and out: no decoder, no encoder, no packet objects.

aiortc's ORTC objects do the connection work (``RTCIceGatherer``,
``RTCIceTransport``, ``RTCDtlsTransport``). Two things are changed for an SFU:

* receive: once DTLS is up, each ICE socket gets our own reader, which reads
  up to ``READ_BATCH`` datagrams per event-loop callback in C
  (``_forward.receive``) and hands SRTP/SRTCP straight to libsrtp and then to
  ``on_rtp(bytes)`` / ``on_rtcp(bytes)``. RTP of a stream in ``streams``
  that may be skipped (silence nobody hears) is counted and dropped in C,
  undecrypted, without any Python.
  aiortc's own path (STUN parse attempt, an asyncio queue, a task wake-up, an
  ``RtpPacket`` object, an ``RTCRtpReceiver`` with a jitter buffer and a
  decoder) is skipped entirely. STUN (consent checks) and DTLS datagrams still
  go the aiortc way.
* send: ``send_rtp(bytes)`` protects with libsrtp and calls the connected
  socket's own ``send`` directly, synchronously (``rooms/media/srtp.py``); the
  forwarding loop uses ``egress`` (the libsrtp session and the connected
  socket's descriptor) from C, without any Python in between.

``RawDtlsTransport`` also overrides aiortc's RTP/RTCP handlers, so even a
packet that took the slow path before the switch is delivered raw.
"""
from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

import aioice.ice
import pylibsrtp
from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsParameters, RTCDtlsTransport
from aiortc.rtcicetransport import RTCIceCandidate, RTCIceGatherer, RTCIceParameters, RTCIceTransport

from rooms.media import srtp
from rooms.media._forward import receive
from rooms.media.offer import pairable

RECV_BUFFER = 4096  # media datagrams fit an MTU; DTLS and STUN a few KiB (_forward.c's RECEIVE_BUFFER)
READ_BATCH = 16  # datagrams read per readiness callback at most: a backlog drains fast, other sockets still get their turn
SOCKET_RECEIVE_BUFFER = 4 * 1024 * 1024  # asked for each media socket; Linux grants up to net.core.rmem_max (doubled for its bookkeeping)

log = logging.getLogger(__name__)
_small_buffer_reported = False

_original_host_addresses = aioice.ice.get_host_addresses
_host_addresses: list[str] = []  # as given to restrict_host_addresses; empty: every interface


def restrict_host_addresses(addresses: list[str] | None) -> None:
    """Gather host candidates only on ``addresses`` (None: every interface, aioice's default).

    aioice never offers 127.0.0.1; a server that should be reachable on loopback
    (tests, benchmarks, a node behind a local TURN/proxy) names it here. This is
    process-wide, which is why media workers are processes of their own.
    """
    global _host_addresses
    _host_addresses = list(addresses or [])
    if addresses is None:
        aioice.ice.get_host_addresses = _original_host_addresses
    else:
        chosen = list(addresses)
        aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: list(chosen)


def _ignore_unpairable_senders(protocol) -> None:
    """Drop datagrams from addresses ``offer.pairable`` rules out for our host addresses.

    A browser checks our loopback candidate from each of its interfaces; answering
    would teach aioice a peer-reflexive candidate on, say, the machine's LAN address,
    and it would then send checks there.
    """
    receive = protocol.datagram_received
    verdicts: dict[str, bool] = {}  # sender -> pairable: consent checks come from the same address every few seconds

    def datagram_received(data: bytes, addr: tuple) -> None:
        verdict = verdicts.get(addr[0])
        if verdict is None:
            if len(verdicts) >= 16:  # garbage from many addresses keeps it bounded
                verdicts.clear()
            verdict = verdicts[addr[0]] = pairable(addr[0], _host_addresses)
        if verdict:
            receive(data, addr)

    protocol.datagram_received = datagram_received


def enlarge_receive_buffer(sock: socket.socket) -> int:
    """Ask for ``SOCKET_RECEIVE_BUFFER`` bytes of receive queue; return what the kernel granted.

    The default (208 KiB here) holds about 200 video datagrams: a worker
    kept off the CPU for a few tens of milliseconds lost its publishers'
    packets at full sockets. Linux caps the request at ``net.core.rmem_max``
    without an error, so a smaller grant is logged once per process.
    """
    global _small_buffer_reported
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_RECEIVE_BUFFER)
    granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    if granted < SOCKET_RECEIVE_BUFFER and not _small_buffer_reported:
        _small_buffer_reported = True
        log.warning("media sockets got a %d-byte receive buffer of the %d asked: raise net.core.rmem_max", granted, SOCKET_RECEIVE_BUFFER)
    return granted


class RawDtlsTransport(RTCDtlsTransport):
    def __init__(self, transport: RTCIceTransport, certificates: list[RTCCertificate], peer: "PeerTransport") -> None:
        super().__init__(transport, certificates)
        self._peer = peer

    async def _handle_rtp_data(self, data: bytes, arrival_time_ms: int) -> None:
        self._peer.on_rtp(data)

    async def _handle_rtcp_data(self, data: bytes) -> None:
        self._peer.on_rtcp(data)


class PeerTransport:
    """One participant's transport; ``on_rtp``/``on_rtcp`` receive decrypted datagrams."""

    def __init__(self, certificate: RTCCertificate, on_rtp: Callable[[bytes], None], on_rtcp: Callable[[bytes], None]) -> None:
        self.on_rtp = on_rtp
        self.on_rtcp = on_rtcp
        # SSRC -> ReceiveState: RTP of a stream marked skippable is counted and dropped by the reader, undecrypted
        # (the SFU's silent audio nobody hears; load-test clients count every packet and decrypt a sample).
        self.streams: dict = {}
        self.gatherer = RTCIceGatherer(iceServers=[])
        self.ice = RTCIceTransport(self.gatherer)
        self.dtls = RawDtlsTransport(self.ice, [certificate], self)
        self.srtp_errors = 0
        self.receive_buffer = 0  # bytes of receive queue the kernel granted each media socket (see enlarge_receive_buffer)
        self.heard = False  # set by every datagram from the participant once connected; the worker clears it (drop detection)
        self.send_dropped = 0
        # ``(srtp_t address, socket fd)`` once connected, for the forwarding loop in C (``Forwarder.deliver``,
        # ``rooms/media/_forward.c``); None before connecting and after ``stop``.
        self.egress: tuple | None = None
        self._tx_session = None  # keeps egress's srtp_t alive
        self.readers: dict[int, Callable[[], bool]] = {}  # socket fd -> our reader, once connected (load-test clients poll them)
        self._send: Callable | None = None
        self._remote_addr = None
        self._protect: Callable[[bytes], bytes] | None = None
        self._protect_rtcp: Callable[[bytes], bytes] | None = None
        self._unprotect: Callable[[bytes], bytes] | None = None
        self._unprotect_rtcp: Callable[[bytes], bytes] | None = None
        self.connected = asyncio.get_running_loop().create_future()

    async def gather(self) -> None:
        await self.gatherer.gather()
        for protocol in self.ice._connection._protocols:
            _ignore_unpairable_senders(protocol)
            self.receive_buffer = enlarge_receive_buffer(protocol.transport.get_extra_info("socket"))

    def local_ice(self) -> tuple[RTCIceParameters, list[RTCIceCandidate]]:
        return self.gatherer.getLocalParameters(), self.gatherer.getLocalCandidates()

    def fingerprints(self):
        return self.dtls.getLocalParameters().fingerprints

    async def add_remote_candidate(self, candidate: RTCIceCandidate | None) -> None:
        if candidate is None or _ours(candidate):
            await self.ice.addRemoteCandidate(candidate)

    async def start(self, remote_ice: RTCIceParameters, candidates: list[RTCIceCandidate], remote_dtls: RTCDtlsParameters, dtls_role: str) -> None:
        """Connect (we are the ICE-controlled answerer) and switch to the raw fast path."""
        try:
            for candidate in filter(_ours, candidates):
                await self.ice.addRemoteCandidate(candidate)
            self.dtls._set_role(dtls_role)
            await self.ice.start(remote_ice)
            await self.dtls.start(remote_dtls)
            if self.dtls.state != "connected":
                raise ConnectionError(f"DTLS handshake failed ({self.dtls.state})")
            self._take_fast_path()
        except Exception as exc:
            if not self.connected.done():
                self.connected.set_exception(exc)
            return
        self.connected.set_result(None)

    def _take_fast_path(self) -> None:
        connection = self.ice._connection
        pair = connection._nominated[1]
        self._remote_addr = pair.remote_addr
        self._send_sock = pair.protocol.transport._sock
        # Connected to the nominated remote address: the kernel looks the route up once instead of per
        # datagram, and ``send`` skips parsing an address tuple (about 1 µs of a 6 µs send here). The
        # socket then only hears that address, which is the only one ICE still talks to after nomination.
        self._send_sock.connect(self._remote_addr)
        self._send = self._send_sock.send
        self._tx_session = self.dtls._tx_srtp
        self.egress = srtp.egress(self._tx_session, self._send_sock)
        self._protect, _, self._protect_rtcp, _ = srtp.bind(self._tx_session)
        _, self._unprotect, _, self._unprotect_rtcp = srtp.bind(self.dtls._rx_srtp)
        self.heard = True
        loop = asyncio.get_running_loop()
        for protocol in connection._protocols:
            # asyncio's reader allocates 256 KiB per datagram and goes through aioice's
            # STUN parsing; ours reads 4 KiB and goes straight to libsrtp. Closing the asyncio transport
            # still removes the reader, since it is registered on the same descriptor.
            # (_remove_reader/_add_reader: the selector loop's own calls, which its public
            # counterparts refuse for a descriptor that belongs to a transport.)
            sock = protocol.transport._sock
            self.readers[sock.fileno()] = reader = self._make_reader(sock, protocol.datagram_received)
            loop._remove_reader(sock.fileno())
            loop._add_reader(sock.fileno(), reader)

    def _make_reader(self, sock, slow_path: Callable[[bytes, tuple], None]) -> Callable[[], bool]:
        unprotect, unprotect_rtcp = self._unprotect, self._unprotect_rtcp
        on_rtp, on_rtcp, streams = self.on_rtp, self.on_rtcp, self.streams
        fd = sock.fileno()
        remote = self._remote_addr

        def readable() -> bool:
            """Read up to ``READ_BATCH`` datagrams; True if it stopped at the bound (more may be waiting).

            Reading until the socket is empty lets a backlog drain before the
            receive buffer overflows; the bound keeps the other sockets and the
            control channel served: the selector is level-triggered, so what is
            left is read next round. ``heard``: an authenticated packet, a
            skipped one (its stream's SSRC), or STUN/DTLS from the participant's
            address (not garbage from anyone).
            """
            media, other, skipped, more = receive(fd, streams, READ_BATCH)
            if skipped:
                self.heard = True
            if other is not None:
                for data, addr in other:
                    slow_path(data, addr)  # STUN consent checks, DTLS alerts
                    if addr == remote:
                        self.heard = True
            if media is not None:
                for data in media:
                    try:
                        if 192 <= data[1] <= 223:
                            on_rtcp(unprotect_rtcp(data))
                        else:
                            on_rtp(unprotect(data))
                    except pylibsrtp.Error:
                        self.srtp_errors += 1
                        continue
                    self.heard = True
            return more

        return readable

    def send_rtp(self, packet: bytes) -> None:
        """Protect and send one RTP packet now (no-op until connected; dropped if the socket buffer is full)."""
        if self._send is not None:
            try:
                self._send(self._protect(packet))
            except OSError:  # buffer full, or an ICMP error reported on the connected socket
                self.send_dropped += 1

    def send_rtcp(self, packet: bytes) -> None:
        if self._send is not None:
            try:
                self._send(self._protect_rtcp(packet))
            except OSError:  # buffer full, or an ICMP error reported on the connected socket
                self.send_dropped += 1

    async def stop(self) -> None:
        self._send = None
        self.egress = None
        await self.dtls.stop()
        await self.ice.stop()


def _ours(candidate: RTCIceCandidate) -> bool:
    """Whether a client's candidate is for the one component we use: RTCP is muxed (rtcp-mux is required), so an RTCP
    (component 2) candidate names no socket of ours, and aioice refuses every check from an address that such a
    candidate shares with the client's RTP candidate (an assertion in its ``check_incoming``), so ICE never connects."""
    return candidate.component == 1
