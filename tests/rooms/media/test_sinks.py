"""The forwarder's sink interface: a local sink gets its slots' packets in the clear, munged, and a keyframe on attach."""
import asyncio

from aiortc.rtcdtlstransport import RTCCertificate

from rooms.media import rtcp, rtp
from rooms.media.forwarder import Forwarder
from rooms.media.probe import ProbeClient
from rooms.media.router import LocalRouter
from rooms.media.slot import Slot
from rooms.media.track import Track

CERT = RTCCertificate.generateCertificate()
KEYFRAME, INTERFRAME = b"\x10\x00", b"\x10\x01"  # VP8 descriptor S=1 PID=0, then the payload header's P bit


class ListSink:
    """A local sink (as an HLS segmenter or a replay writer will be): keeps every packet of its slots, by slot."""

    transport = None

    def __init__(self) -> None:
        self.packets: dict[str, list[bytes]] = {}

    def write(self, slot: Slot, packet: bytes) -> None:
        self.packets.setdefault(slot.mid, []).append(packet)


class KeyframeLog:
    """A publisher as the forwarder sees one: it records the tracks a keyframe was asked of."""

    def __init__(self) -> None:
        self.asked: list[Track] = []

    def send_keyframe_request(self, track: Track) -> None:
        self.asked.append(track)


def vp8(seq: int, payload: bytes, ssrc: int = 0xC) -> bytes:
    return rtp.build_packet(payload_type=100, sequence=seq, timestamp=seq * 3000, ssrc=ssrc, payload=payload, marker=True)


def deliver(forwarder: Forwarder, track: Track, data: bytes) -> None:
    forwarder.deliver(track, data, rtp.parse_header(data), 0.0)


def test_a_local_sink_asks_for_a_keyframe_on_attach_and_gets_a_continuous_stream_from_it():
    forwarder = Forwarder(0)
    publisher = KeyframeLog()
    camera = Track(1, "r", "carol", 0, "video", False, 0xC, 90000, None)
    other = Track(2, "r", "dave", 0, "video", False, 0xD, 90000, None)
    forwarder.add(camera, publisher)
    forwarder.add(other, publisher)
    sink = ListSink()
    slot = Slot(sink, "hls-video", "video", False, 0x5EC0, 96, 90000, None)

    assert forwarder.attach(slot, camera) and publisher.asked == [camera]  # asked at once: a local sink takes packets now
    deliver(forwarder, camera, vp8(10, INTERFRAME + b"a"))
    assert sink.packets == {}  # nothing before a keyframe
    for seq, payload in ((11, KEYFRAME + b"b"), (12, INTERFRAME + b"c")):
        deliver(forwarder, camera, vp8(seq, payload))
    assert forwarder.attach(slot, other) and publisher.asked == [camera, other]  # a switch asks the new source
    for seq, payload in ((50, INTERFRAME + b"d"), (51, KEYFRAME + b"e"), (52, INTERFRAME + b"f")):
        deliver(forwarder, other, vp8(seq, payload, ssrc=0xD))
    headers = [rtp.parse_header(p) for p in sink.packets["hls-video"]]
    assert [p[h.payload_start :] for p, h in zip(sink.packets["hls-video"], headers)] == [
        KEYFRAME + b"b", INTERFRAME + b"c", KEYFRAME + b"e", INTERFRAME + b"f",
    ]
    assert {(h.ssrc, h.payload_type) for h in headers} == {(0x5EC0, 96)}  # the slot's, whatever the source
    assert [h.sequence for h in headers] == [(0x5EC0 & 0x7FFF) + i for i in range(4)]  # continuous across the switch
    assert forwarder.forwarded == 0  # counted for subscribers on the wire only

    forwarder.attach(slot, None)
    deliver(forwarder, other, vp8(53, KEYFRAME + b"g", ssrc=0xD))
    assert len(sink.packets["hls-video"]) == 4 and not other.slots
    forwarder.remove(other.track_id)
    assert forwarder.tracks == {camera.track_id: camera} and other.track_id not in forwarder.publishers


async def test_a_sink_on_another_worker_than_the_publisher_asks_it_for_a_keyframe_and_receives_its_video():
    """Real aiortc transports: the publisher is on worker 0, the sink on worker 1; the PLI crosses over and reaches the client."""
    router = await LocalRouter.start(workers=2, tick=0.05)
    publisher = ProbeClient(CERT, publish_audio=False, publish_video=True, audio_slots=0)
    try:
        participant = await router.room("r").add_participant("teacher")
        assert participant.worker == 0
        await publisher.accept(await participant.handle_offer(await publisher.offer()))
        forwarder = router.workers[1].forwarder
        camera = next(t for t in forwarder.tracks.values() if t.owner == "teacher")  # announced to every worker
        ts = 0

        async def send(payload: bytes, frames: int = 1) -> None:
            nonlocal ts
            for _ in range(frames):
                ts += 3000
                publisher.send_video(payload, ts)
                await asyncio.sleep(0.02)

        await send(INTERFRAME + b"before", 10)
        sink = ListSink()
        slot = Slot(sink, "watch", "video", False, 0x5EC1, 96, 90000, None)
        asked_before = len(publisher.rtcp)
        assert forwarder.attach(slot, camera)

        def plis() -> list:
            packets = [p for data in publisher.rtcp[asked_before:] for p in rtcp.parse_compound(data)]
            return [p for p in packets if isinstance(p, rtcp.Pli) and p.media_ssrc == publisher.video_ssrc]

        for _ in range(100):
            await send(INTERFRAME + b"waiting")
            if plis():
                break
        assert plis(), "the publisher was never asked for a keyframe"
        assert sink.packets == {}  # interframes only so far: nothing
        await send(KEYFRAME + b"key")
        await send(INTERFRAME + b"next", 3)
        for _ in range(50):
            if len(sink.packets.get("watch", [])) >= 4:
                break
            await asyncio.sleep(0.02)
        received = sink.packets["watch"]
        headers = [rtp.parse_header(p) for p in received]
        assert [p[h.payload_start :] for p, h in zip(received, headers)] == [KEYFRAME + b"key"] + [INTERFRAME + b"next"] * 3
        assert {h.ssrc for h in headers} == {0x5EC1}
    finally:
        await publisher.close()
        await router.close()
