"""Simulcast: layers bound by RID, one layer per slot chosen per receiver, switches only at keyframes, one VP8 stream."""
import asyncio
import struct

import pytest
from aiortc.rtcdtlstransport import RTCCertificate

from rooms.media import layers, rtp, vp8
from rooms.media.forwarder import Forwarder
from rooms.media.offer import check_offer
from rooms.media.probe import ProbeClient
from rooms.media.registry import RoomState
from rooms.media.router import LocalRouter
from rooms.media.slot import Slot
from rooms.media.track import Track
from tests.rooms.media.test_forwarding import wire_and_reference
from tests.rooms.media.test_sinks import KeyframeLog, ListSink

CERT = RTCCertificate.generateCertificate()
SIZES = {"q": (160, 90), "h": (320, 180), "f": (640, 360)}
MID_ID, RID_ID = 4, 10


def vp8_payload(picture_id: int, tl0: int, keyframe: bool, size: tuple[int, int], mark: int = 0) -> bytes:
    """A one-packet VP8 frame: descriptor with a 15-bit picture id and TL0PICIDX, then a keyframe header with its size."""
    descriptor = bytes([0x90, 0xC0, 0x80 | (picture_id >> 8) & 0x7F, picture_id & 0xFF, tl0 & 0xFF])
    if keyframe:
        frame = b"\x00\x00\x00\x9d\x01\x2a" + struct.pack("<HH", *size)
    else:
        frame = b"\x01\x00\x00"
    return descriptor + frame + bytes([mark]) * 40


def picture(packet: bytes) -> tuple[int, int]:
    """(picture id, TL0PICIDX) of a forwarded packet."""
    header = rtp.parse_header(packet)
    pid_at, wide, tl0_at = vp8.picture_fields(packet, header.payload_start)
    assert wide
    return (packet[pid_at] & 0x7F) << 8 | packet[pid_at + 1], packet[tl0_at]


def camera(room: RoomState, rids=("q", "h", "f")) -> list[Track]:
    group = 10 + len(rids) - 1
    for i, rid in enumerate(rids):
        room.add_track(Track(10 + i, "r", "alice", 0, "video", False, 0xA0 + i, 90000, None, "video/VP8", rid=rid, group=group))
    return room.layers[group]


def test_a_layer_switch_waits_for_the_keyframe_and_keeps_one_vp8_stream_on_both_paths():
    """The fast path (a connected subscriber) and the general path (a local sink) send the same packets.

    The slot shows layer q, is switched to f: q goes on until f's keyframe, then only f;
    sequence numbers, timestamps' spacing, picture ids and TL0PICIDX continue as one stream.
    """
    room = RoomState("r", 3, 9)
    q, h, f = camera(room)
    worker = Forwarder(0)
    publisher = KeyframeLog()
    for layer in (q, h, f):
        worker.add(layer, publisher)
    fast, reference, on_wire, plain = wire_and_reference("video", 96, 90000, None)
    bases = {q: (1000, 7), h: (20000, 200), f: (32760, 250)}  # each layer counts from its own start; f wraps both
    state = {"frame": 0}

    def send_frame(keyframes=()) -> None:
        n = state["frame"]
        for layer in (q, h, f):
            pid, tl0 = bases[layer]
            payload = vp8_payload((pid + n) & 0x7FFF, tl0 + n, layer in keyframes, SIZES[layer.rid], mark=layer.track_id)
            data = rtp.build_packet(payload_type=100, sequence=(layer.track_id * 1000 + n) & 0xFFFF, timestamp=n * 3000 + layer.track_id,
                                    ssrc=layer.ssrc, payload=payload, marker=True)
            worker.deliver(layer, data, rtp.parse_header(data), n * 0.033)
        state["frame"] += 1

    for slot in (fast, reference):
        worker.attach(slot, q)
    send_frame(keyframes=(q,))
    for _ in range(3):
        send_frame()
    publisher.asked.clear()
    for slot in (fast, reference):
        worker.switch(slot, f)
    assert publisher.asked == [f]  # a keyframe of the target layer, on its SSRC (once: throttled)
    send_frame()
    send_frame(keyframes=(h,))  # another layer's keyframe does not switch
    send_frame(keyframes=(f,))
    for _ in range(3):
        send_frame()

    assert on_wire() == plain
    marks = [p[-1] for p in plain]
    assert marks == [q.track_id] * 7 + [f.track_id] * 4  # q until f's keyframe (q's frame 6 came first), nothing of h
    headers = [rtp.parse_header(p) for p in plain]
    assert [hd.sequence for hd in headers] == [(0x1234 & 0x7FFF) + i for i in range(11)]
    assert vp8.is_keyframe_start(plain[7][headers[7].payload_start:])
    pictures = [picture(p) for p in plain]
    assert [p[0] for p in pictures] == [1000 + i for i in range(11)]
    assert [p[1] for p in pictures] == [7 + i for i in range(11)]
    assert {hd.ssrc for hd in headers} == {0x1234}
    assert f.size == (640, 360) and h.size == (320, 180)


def test_a_retransmission_after_a_switch_carries_the_rewritten_picture_id():
    room = RoomState("r", 3, 9)
    q, _, f = camera(room)
    worker = Forwarder(0)
    local = ListSink()
    slot = Slot(local, "r", "video", False, 0x10, 96, 90000, None)
    worker.attach(slot, q)
    for n, (layer, key) in enumerate([(q, True), (q, False), (f, True), (f, False)]):
        data = rtp.build_packet(payload_type=100, sequence=500 + n, timestamp=n, ssrc=layer.ssrc,
                                payload=vp8_payload(9000 * (layer is f) + n, 3, key, SIZES[layer.rid]), marker=True)
        if layer is f and slot.source is q:
            worker.switch(slot, f)
        worker.deliver(layer, data, rtp.parse_header(data), n * 0.03)
    sent = local.packets["r"]
    assert [picture(p)[0] for p in sent] == [0, 1, 2, 3]
    resent = []
    slot.send = resent.append
    worker.retransmit(slot, [rtp.parse_header(sent[3]).sequence])
    assert resent == [sent[3]]


def live(track: Track, now: float, size, bitrate: int) -> Track:
    track.arrived, track.size, track.bitrate = now, size, bitrate
    return track


def test_the_layer_fits_the_tile_then_the_bandwidth_and_skips_layers_that_stopped():
    room = RoomState("r", 3, 9)
    q, h, f = camera(room)
    now = 100.0
    for layer, rate in ((q, 150_000), (h, 500_000), (f, 1_500_000)):
        live(layer, now, SIZES[layer.rid], rate)
    assert layers.choose(room.layers[f.group], None, True, None, now) is f  # the stage: the largest
    assert layers.choose(room.layers[f.group], None, False, None, now) is q  # a thumbnail: the smallest
    assert layers.choose(room.layers[f.group], (150, 100), False, None, now) is q
    assert layers.choose(room.layers[f.group], (300, 200), False, None, now) is h  # 320 wide fills it (contain)
    assert layers.choose(room.layers[f.group], (1920, 1080), False, None, now) is f
    assert layers.choose(room.layers[f.group], (1920, 1080), False, 800_000, now) is h  # the estimate does not take f
    assert layers.choose(room.layers[f.group], (1920, 1080), False, 10_000, now) is q  # the smallest, whatever the estimate
    f.arrived = now - layers.LIVE_S - 0.1  # f stopped: its slots fall back
    assert layers.choose(room.layers[f.group], (1920, 1080), True, None, now) is h
    for layer in (q, h):
        layer.arrived = 0.0
    assert layers.choose(room.layers[f.group], None, True, None, now) is None  # nothing arrives: the slot stays as it is


# --- through the SFU: a light publisher sending three layers, a light receiver ----------------------------------


def simulcast_offer(text: str, rids=("q", "h", "f")) -> str:
    """A probe's offer with its camera m-line turned into Chromium's simulcast form: no a=ssrc, RIDs, MID/RID extensions."""
    out, in_camera = [], False
    for line in text.splitlines():
        if line.startswith("m="):
            in_camera = line.startswith("m=video") and not out_has_camera(out)
        if in_camera and (line.startswith("a=ssrc") or line.startswith("a=msid")):
            continue
        out.append(line)
        if in_camera and line.startswith("a=mid:"):
            out += [f"a=extmap:{MID_ID} {rtp.MID_URI}", f"a=extmap:{RID_ID} {rtp.RID_URI}"]
            out += [f"a=rid:{rid} send" for rid in rids] + ["a=simulcast:send " + ";".join(rids)]
    return "".join(line + "\r\n" for line in out)


def out_has_camera(lines: list[str]) -> bool:
    return any(line.startswith("m=video") for line in lines)


class SimulcastPublisher:
    """Sends one single-packet VP8 frame per layer every 33 ms; each SSRC's first packets carry MID and RID, as Chromium's."""

    def __init__(self, client: ProbeClient, rids=("q", "h", "f")) -> None:
        self.client = client
        self.rids = list(rids)
        self.ssrcs = {rid: 0x5000 + i for i, rid in enumerate(rids)}
        self.starts = {rid: 3000 * (i + 1) for i, rid in enumerate(rids)}  # each layer's picture ids from its own start
        self.frame = 0
        self.stopped: set[str] = set()
        self.keyframe_every = 15

    def send_frame(self, rid_of=None) -> None:
        n = self.frame
        for i, rid in enumerate(self.rids):
            if rid in self.stopped:
                continue
            keyframe = n % self.keyframe_every == 0
            payload = vp8_payload((self.starts[rid] + n) & 0x7FFF, n, keyframe, SIZES[rid], mark=i + 1)
            extensions = [(MID_ID, b"0"), (RID_ID, (rid_of or rid).encode())] if n < 10 else []
            self.client.transport.send_rtp(rtp.build_packet(
                payload_type=96, sequence=(i * 10000 + n) & 0xFFFF, timestamp=n * 3000, ssrc=self.ssrcs[rid],
                payload=payload, marker=True, extensions=extensions,
            ))
        self.frame += 1

    async def run(self, seconds: float) -> None:
        for _ in range(int(seconds / 0.033)):
            self.send_frame()
            await asyncio.sleep(0.033)


class StageLog:
    """What a receiver's stage slot got: layer marks, picture ids, sequence numbers, keyframe flags."""

    def __init__(self, client: ProbeClient, mid: str) -> None:
        """Made before the client connects (its reader takes ``on_rtp`` then)."""
        self.packets: list[bytes] = []
        original = client.transport.on_rtp

        def on_rtp(data: bytes) -> None:
            original(data)
            if rtp.parse_header(data).ssrc == client.slot_ssrcs.get(mid):
                self.packets.append(data)

        client.transport.on_rtp = on_rtp

    def marks(self) -> list[int]:
        return [p[-1] for p in self.packets]


@pytest.mark.parametrize("workers", [1, 2])  # 2: the receiver on another worker than the publisher (fan-out, keyframe requests across)
async def test_a_receiver_gets_the_layer_its_tile_asks_for_and_switches_at_keyframes_as_one_stream(workers):
    router = await LocalRouter.start(workers, tick=0.05)
    room = router.room("r")
    events = []
    room.on_event(events.append)
    sender = ProbeClient(CERT, audio_slots=0, publish_audio=False, publish_video=True)
    viewer = ProbeClient(CERT, audio_slots=0, video_slots=2, publish_audio=False)
    try:
        alice = await room.add_participant("alice")
        offer = simulcast_offer(await sender.offer())
        assert check_offer(offer).sections[0].rids == ("q", "h", "f")
        answer = await alice.handle_offer(offer)
        assert "a=simulcast:recv q;h;f" in answer and "a=rid:q recv" in answer
        await sender.accept(answer)
        publisher = SimulcastPublisher(sender)
        bob = await room.add_participant("bob")
        assert (alice.worker, bob.worker) == (0, workers - 1)
        stage = StageLog(viewer, "0")
        await viewer.accept(await bob.handle_offer(await viewer.offer()))

        await publisher.run(1.5)  # the stage, by default: the largest layer
        assert stage.marks() and set(stage.marks()[-10:]) == {3}
        await bob.tiles({"0": [150, 90], "1": [150, 90]})  # a small tile: the smallest layer, from its next keyframe
        await publisher.run(1.5)
        assert set(stage.marks()[-10:]) == {1}
        publisher.stopped.add("q")  # the layer stops: the slot falls back to one that still arrives
        await publisher.run(3.5)
        assert set(stage.marks()[-10:]) == {2}

        marks = stage.marks()
        switches = [i for i in range(1, len(marks)) if marks[i] != marks[i - 1]]
        assert len(switches) == 2
        for i in [0] + switches:  # every stretch of one layer starts at a keyframe
            assert vp8.is_keyframe_start(stage.packets[i][rtp.parse_header(stage.packets[i]).payload_start:])
        sequences = [rtp.parse_header(p).sequence for p in stage.packets]
        assert all((b - a) & 0xFFFF == 1 for a, b in zip(sequences, sequences[1:]))  # no gap a receiver would NACK
        pictures = [picture(p)[0] for p in stage.packets]
        assert all((b - a) & 0x7FFF == 1 for a, b in zip(pictures, pictures[1:]))  # one VP8 stream for the decoder
        assert not [e for e in events if e.get("event") == "error"]

        publisher.frame = 0  # a new SSRC naming a RID the offer did not declare: dropped, and the sender is told
        publisher.ssrcs["q"] = 0x6000
        publisher.stopped.discard("q")
        publisher.send_frame(rid_of="zz")
        await asyncio.sleep(0.3)
        errors = [e for e in events if e.get("event") == "error"]
        assert errors and errors[0]["participant"] == "alice" and "rid 'zz'" in errors[0]["message"]
    finally:
        await sender.close()
        await viewer.close()
        await router.close()


class Receiver:
    def __init__(self, slots: list[Slot]) -> None:
        self.slots = {slot.mid: slot for slot in slots}
        self.remb = None
        self.limited_until = 0.0


def test_the_estimate_limits_only_once_the_remb_says_congestion_and_then_for_a_while():
    room = RoomState("r", 3, 9)
    q, _, f = camera(room)
    slot = Slot(ListSink(), "1", "video", False, 1, 96, 90000, None)
    slot.show(f)
    f.bitrate = 1_500_000
    receiver = Receiver([slot])
    assert layers.estimate(receiver, 0.0) is None  # no REMB yet
    receiver.remb = 1_600_000  # at about what it gets: no sign of a limit (a REMB grows only with what arrives)
    assert layers.estimate(receiver, 1.0) is None
    receiver.remb = 700_000  # below what it is sent: congestion
    assert layers.estimate(receiver, 2.0) == 700_000
    slot.show(q)
    q.bitrate = 150_000
    receiver.remb = 800_000
    assert layers.estimate(receiver, 3.0) == 800_000  # still held after stepping down
    assert layers.estimate(receiver, 2.0 + layers.HOLD_S + 0.1) is None  # then a larger layer is tried again
