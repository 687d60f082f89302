"""The forwarding loop's fast path, and silent audio skipped before decryption."""
import os
import socket

import pylibsrtp

from rooms.media import rtp, srtp
from rooms.media._forward import clear_level, receive
from rooms.media.forwarder import Forwarder
from rooms.media.registry import RoomState
from rooms.media.selection import mark_skippable
from rooms.media.slot import Slot
from rooms.media.track import SILENT_SAMPLE, Track
from tests.rooms.media.test_sinks import KeyframeLog, ListSink

LEVEL_ID = 1


def session_pair():
    key = os.urandom(30)
    tx = pylibsrtp.Session(pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND))
    rx = pylibsrtp.Session(pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND))
    return tx, rx


class WireTransport:
    """A connected subscriber's transport as the worker sees it: a real UDP socket on loopback, read back by ``datagrams``."""

    def __init__(self, session: pylibsrtp.Session) -> None:
        self.session = session
        self.receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.receiver.bind(("127.0.0.1", 0))
        self.receiver.setblocking(False)
        self.sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sender.connect(self.receiver.getsockname())
        self.egress = srtp.egress(session, self.sender)
        protect = srtp.bind(session)[0]
        self.send_rtp = lambda packet: self.sender.send(protect(packet))
        self.srtp_errors = self.send_dropped = 0
        self._received: list[bytes] = []

    @property
    def datagrams(self) -> list[bytes]:
        """Every datagram sent so far, in order (loopback keeps it)."""
        while True:
            try:
                self._received.append(self.receiver.recv(4096))
            except BlockingIOError:
                return self._received


class JoiningTransport:
    """A subscriber whose DTLS is not up yet: ``send_rtp`` is a no-op, as ``PeerTransport``'s is then."""

    egress = None

    def send_rtp(self, packet: bytes) -> None:
        pass


class Subscriber:
    def __init__(self, transport) -> None:
        self.transport = transport


def wire_and_reference(kind: str, payload_type: int, clock_rate: int, level_id: int | None):
    """Two slots with one SSRC: a connected subscriber's on the wire (the fast path) and a local sink's (the general path).

    Returns them, a function giving what the wire got (decrypted), and the local sink's packets.
    """
    tx, rx = session_pair()
    wire = WireTransport(tx)
    fast = Slot(Subscriber(wire), "1", kind, False, 0x1234, payload_type, clock_rate, level_id)
    local = ListSink()
    reference = Slot(local, "r", kind, False, 0x1234, payload_type, clock_rate, level_id)
    return fast, reference, lambda: [rx.unprotect(d) for d in wire.datagrams], local.packets.setdefault("r", [])


def audio(seq: int, ts: int, ssrc: int, level: int = 20, marker: bool = False) -> bytes:
    return rtp.build_packet(
        payload_type=109, sequence=seq & 0xFFFF, timestamp=ts, ssrc=ssrc, marker=marker,
        payload=seq.to_bytes(4, "big") * 10, extensions=[(LEVEL_ID, bytes([level]))],
    )


def test_the_fast_path_sends_what_the_munger_and_packet_for_make():
    """One subscriber on the wire (fast path) and the recorder-like reference (slow path) see identical packets.

    Covers the steady state, a source switch (slow path once, then fast again),
    a late packet from before the switch (dropped), reordering and the 16-bit wrap.
    """
    worker = Forwarder(0)
    fast, reference, on_wire, plain = wire_and_reference("audio", 111, 48000, LEVEL_ID)
    joining = Slot(Subscriber(JoiningTransport()), "2", "audio", False, 0x99, 111, 48000, LEVEL_ID)
    a = Track(1, "r", "alice", 0, "audio", False, 0xA, 48000, LEVEL_ID)
    b = Track(2, "r", "bob", 0, "audio", False, 0xB, 48000, LEVEL_ID)

    def show(track):
        fast.show(track)
        reference.show(track)
        joining.show(track)

    def send(track, seq, ts, now, **options):
        data = audio(seq, ts, track.ssrc, **options)
        worker.deliver(track, data, rtp.parse_header(data), now)

    show(a)
    for i in range(5):
        send(a, 65533 + i, 960 * i, 0.02 * i, marker=i == 0)  # wraps at 65536
    send(a, 65540, 960 * 7, 0.14)
    send(a, 65539, 960 * 6, 0.15)  # reordered: keeps its place
    show(b)
    send(b, 100, 5000, 0.5)
    send(b, 101, 5960, 0.52)
    send(b, 99, 4040, 0.53)  # before the switch: dropped by both
    show(a)
    send(a, 65541, 960 * 8, 0.6)

    assert worker.forwarded == 10  # the connected subscriber's; neither the recorder-like slot nor one still joining
    assert on_wire() == plain
    numbers = [rtp.parse_header(p)[2:5] for p in plain]  # sequence, timestamp, ssrc
    assert [n[0] for n in numbers] == [(0x1234 & 0x7FFF) + i for i in (0, 1, 2, 3, 4, 7, 6, 8, 9, 10)]
    assert {n[2] for n in numbers} == {0x1234}
    assert rtp.parse_header(plain[0]).marker and not rtp.parse_header(plain[1]).marker


def test_the_level_is_read_from_the_clear_header_of_an_srtp_packet():
    tx, _ = session_pair()
    assert clear_level(tx.protect(audio(1, 0, 7, level=127)), LEVEL_ID) == 127
    assert clear_level(tx.protect(audio(2, 0, 7, level=20)), LEVEL_ID) == 20
    assert clear_level(tx.protect(audio(3, 0, 7)), 5) is None
    second = rtp.build_packet(payload_type=109, sequence=4, timestamp=0, ssrc=7, payload=b"x" * 20, extensions=[(3, b"ab"), (LEVEL_ID, b"\x28")])
    assert clear_level(tx.protect(second), LEVEL_ID) == 40  # not the first element of the block
    no_extension = rtp.build_packet(payload_type=109, sequence=5, timestamp=0, ssrc=7, payload=b"x" * 20)
    assert clear_level(tx.protect(no_extension), LEVEL_ID) is None


def test_silence_of_an_unheard_source_is_counted_and_mostly_not_decrypted():
    room = RoomState("r", 3, 9)
    track = Track(1, "r", "alice", 0, "audio", False, 0xA, 48000, LEVEL_ID)
    room.audio_of["alice"] = track
    streams = {track.ssrc: track}
    tx, _ = session_pair()
    inbox = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    inbox.bind(("127.0.0.1", 0))
    inbox.setblocking(False)
    outbox = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    outbox.connect(inbox.getsockname())

    def through_reader(packets: list[bytes], limit: int = 1000) -> tuple[list[bytes], int, bool]:
        for packet in packets:
            outbox.send(packet)
        media, other, skipped, more = receive(inbox.fileno(), streams, limit)
        assert other is None
        return media or [], skipped, more

    try:
        mark_skippable(room)
        silent = [tx.protect(audio(seq, 0, 0xA, level=127)) for seq in range(4 * SILENT_SAMPLE)]
        passed, skipped, more = through_reader(silent)
        assert passed == [silent[i] for i in range(SILENT_SAMPLE - 1, 4 * SILENT_SAMPLE, SILENT_SAMPLE)]  # one in SILENT_SAMPLE is decrypted anyway
        assert skipped == track.received == 4 * SILENT_SAMPLE - 4 and not more  # the skipped ones still count for receiver reports
        assert track.base_seq == 0 and track.extended_highest == 4 * SILENT_SAMPLE - 2
        sound = [tx.protect(audio(seq, 0, 0xA, level=30)) for seq in range(100, 110)]
        assert through_reader(sound)[0] == sound
        room.speakers.selected = ["alice"]  # heard: everything is decrypted, silence included
        mark_skippable(room)
        heard = [tx.protect(audio(seq, 0, 0xA, level=127)) for seq in range(200, 220)]
        assert through_reader(heard)[0] == heard
        room.speakers.selected = []
        mark_skippable(room)
        unknown = tx.protect(audio(300, 0, 0xEE, level=127))
        assert through_reader([unknown])[0] == [unknown]  # unknown SSRC: on_rtp counts it
        assert through_reader(silent[:5], limit=3)[1:] == (3, True)  # stopped at the bound: more may be waiting
        assert through_reader([])[1:] == (2, False)
        outbox.send(b"\x00\x01 a STUN-looking datagram")
        media, other, skipped, more = receive(inbox.fileno(), streams, 10)
        assert media is None and other == [(b"\x00\x01 a STUN-looking datagram", outbox.getsockname())]
    finally:
        inbox.close()
        outbox.close()


def vp8_packet(seq: int, keyframe: bool) -> bytes:
    payload = bytes([0x10, 0x00 if keyframe else 0x01]) + bytes(100)  # descriptor S=1 PID=0, then the VP8 P bit
    return rtp.build_packet(payload_type=96, sequence=seq, timestamp=seq * 3000, ssrc=0xC, payload=payload, marker=True)


def test_a_subscriber_still_connecting_takes_no_keyframe_and_asks_for_one_once_connected():
    """A keyframe that arrives before the subscriber's DTLS is up is not used up: its first packet is still a keyframe."""
    worker = Forwarder(0)
    publisher = KeyframeLog()
    asked = publisher.asked
    tx, rx = session_pair()
    joining = JoiningTransport()
    subscriber = Subscriber(joining)
    slot = Slot(subscriber, "1", "video", False, 0x5678, 96, 90000, None)
    subscriber.slots, subscriber.tracks = {"1": slot}, {}
    camera = Track(3, "r", "carol", 0, "video", False, 0xC, 90000, None)
    worker.add(camera, publisher)
    assert worker.attach(slot, camera)

    def send(seq: int, keyframe: bool) -> None:
        data = vp8_packet(seq, keyframe)
        worker.deliver(camera, data, rtp.parse_header(data), 0.02 * seq)

    send(1, keyframe=True)
    send(2, keyframe=False)
    assert slot.waiting_keyframe and slot.munger.source_ssrc is None and asked == []

    wire = WireTransport(tx)
    subscriber.transport = slot.transport = wire  # DTLS is up
    slot.send = wire.send_rtp
    worker.ask_keyframes(subscriber.slots.values())
    assert asked == [camera]
    send(3, keyframe=False)  # still waiting: not sent
    send(4, keyframe=True)
    send(5, keyframe=False)
    received = [rx.unprotect(d) for d in wire.datagrams]
    assert len(received) == 2 and worker.forwarded == 2
    first = rtp.parse_header(received[0])
    assert first.sequence == 0x5678 & 0x7FFF and received[0][first.payload_start : first.payload_start + 2] == b"\x10\x00"


def test_a_departed_subscriber_is_counted_as_dropped_and_the_others_still_get_every_byte():
    """The C loop: a send refused by the kernel (ICMP unreachable on loopback) is counted, not raised, and does not stop the loop."""
    worker = Forwarder(0)
    camera = Track(4, "r", "dave", 0, "video", False, 0xD, 90000, None)
    pairs = [session_pair() for _ in range(3)]
    wires = [WireTransport(tx) for tx, _ in pairs]
    slots = [Slot(Subscriber(wire), "1", "video", False, 0x700 + i, 96, 90000, None) for i, wire in enumerate(wires)]
    for slot in slots:
        slot.show(camera)
        slot.waiting_keyframe = False
    wires[1].receiver.close()  # the second subscriber is gone: its sends come back refused
    payloads = [bytes([0x10, 0x01]) + os.urandom(1200) for _ in range(4)]
    for seq, payload in enumerate(payloads, start=10):
        data = rtp.build_packet(payload_type=100, sequence=seq, timestamp=seq * 3000, ssrc=0xD, payload=payload, marker=True)
        worker.deliver(camera, data, rtp.parse_header(data), 0.02 * seq)

    assert wires[1].send_dropped == 2  # Linux reports the ICMP error of one send on the next, which it fails: every other one
    assert worker.forwarded == 8 + 4 - wires[1].send_dropped
    for (_, rx), wire, slot in zip([pairs[0], pairs[2]], [wires[0], wires[2]], [slots[0], slots[2]]):
        received = [rx.unprotect(d) for d in wire.datagrams]
        headers = [rtp.parse_header(p) for p in received]
        assert [p[h.payload_start :] for p, h in zip(received, headers)] == payloads
        assert [h.ssrc for h in headers] == [slot.ssrc] * 4 and {h.payload_type for h in headers} == {96}
        assert [h.sequence for h in headers] == [(slot.ssrc & 0x7FFF) + i for i in range(4)]
        assert all(h.marker for h in headers)
