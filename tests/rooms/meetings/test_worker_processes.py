"""Meetings with the SFU in two media worker processes (``ProcessRouter``): real Chromium pages and aiortc peers.

Two Chromium pages meet with one on each worker. Three aiortc participants
land on workers 0, 1, 0, so every publisher reaches a subscriber on the other
process through the fan-out. Each peer records the
encoded payloads its own encoders produced and the payloads its receivers got:
a payload that arrives byte for byte as another participant's encoder made it
(a VP8 payload after its descriptor, whose picture id a slot renumbers) was
forwarded, not transcoded. The recorder runs on worker 0 and records a
speaker whose packets reach it from worker 1. Storage is the other meeting tests' concern, so
these run on the embedded database only.
"""
import asyncio
import io
import math
import os
from array import array

import av
import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack
from playwright.async_api import expect

from rooms.keys import LIVE_MEETINGS
from rooms.media import vp8
from rooms.media.processes import ProcessRouter
from server.appkeys import SETTINGS
from tests.rooms.meetings.test_directions import negotiate, new_pc
from tests.rooms.meetings.test_meetings_api import join
from tests.rooms.meetings.test_page import browser, camera_frames, host_and_meeting, join_as_guest, join_as_host, open_page, wait_growing  # noqa: F401  (fixtures)
from tests.rooms.meetings.test_recording import SolidVideo, mean_luma
from tests.rooms.meetings.test_signalling import attend, close_all, setup_meeting, silence
from tests.web.conftest import base_url, live_server  # noqa: F401  (fixtures)


@pytest.fixture
def backend() -> str:
    return "sqlite"


async def test_two_browsers_meet_through_two_worker_processes(media_processes, app, db, base_url, open_page):  # noqa: F811
    link, token = await host_and_meeting(db, base_url, app[SETTINGS].secret_key)
    host = await join_as_host(open_page, link, token)
    guest = await join_as_guest(open_page, link, "Gus Guest")
    await expect(guest.locator("body")).to_have_attribute("data-meeting", "joined")
    router = app[LIVE_MEETINGS].router
    assert isinstance(router, ProcessRouter) and sorted(router.placement.values()) == [0, 1]  # one browser on each
    for page in (host, guest):
        await wait_growing(page, camera_frames)
        await wait_growing(page, lambda stats: stats["audio"])


class Tone(AudioStreamTrack):
    """A sine at its own pitch, so each publisher's Opus payloads are its own (silence would encode alike)."""

    def __init__(self, hertz: int, amplitude: int) -> None:
        super().__init__()
        self.wave = array("h", (int(amplitude * math.sin(2 * math.pi * hertz * i / 8000)) for i in range(8000)))

    async def recv(self):
        frame = await super().recv()  # 20 ms of silence at 8 kHz, paced
        start = frame.pts % 8000
        frame.planes[0].update(self.wave[start : start + frame.samples].tobytes())
        return frame


def media_of(kind: str, payload: bytes) -> bytes:
    """What the SFU forwards untouched: a VP8 payload without its descriptor (a slot renumbers its picture ids), Opus whole."""
    return payload[vp8.descriptor_size(payload):] if kind == "video" else payload


class Peer:
    """An attendee's connection: camera and microphone sent, two video and two audio slots received, payloads kept."""

    def __init__(self, attendee, luma: int, hertz: int, amplitude: int) -> None:
        self.attendee = attendee
        self.luma = luma
        self.sent: set[bytes] = set()
        self.received: dict[object, set[bytes]] = {}  # receive transceiver -> payloads
        self.first: dict[object, bytes] = {}  # receive transceiver -> the first payload it got
        self.slots: list = []  # receive transceivers, camera/microphone ones included (sendrecv)
        self.pc: RTCPeerConnection = new_pc()
        self.pc.addTransceiver(SolidVideo(luma), direction="sendrecv")
        self.pc.addTransceiver("video", direction="recvonly")
        self.pc.addTransceiver(Tone(hertz, amplitude), direction="sendrecv")
        self.pc.addTransceiver("audio", direction="recvonly")
        for transceiver in self.pc.getTransceivers():
            self._keep_sent(transceiver.sender)
            self._keep_received(transceiver)

    def _keep_sent(self, sender) -> None:
        encoded = sender._next_encoded_frame

        async def next_encoded_frame(codec):
            frame = await encoded(codec)
            if frame is not None:
                self.sent.update(media_of(sender.kind, payload) for payload in frame.payloads)
            return frame

        sender._next_encoded_frame = next_encoded_frame

    def _keep_received(self, transceiver) -> None:
        handle, payloads = transceiver.receiver._handle_rtp_packet, self.received.setdefault(transceiver, set())
        self.slots.append(transceiver)

        async def handle_rtp_packet(packet, arrival_time_ms):
            payloads.add(media_of(transceiver.kind, packet.payload))
            self.first.setdefault(transceiver, packet.payload)
            await handle(packet, arrival_time_ms)

        transceiver.receiver._handle_rtp_packet = handle_rtp_packet

    def slots_of(self, kind: str) -> list:
        return [t for t in self.slots if t.kind == kind]


async def three_across_workers(app, client, db, amplitudes=(4000, 4000, 4000)):
    """Host, member and guest joined and negotiated; returns their attendees, peers, the router, the meeting and its host."""
    host, member, meeting, host_ticket, member_ticket = await setup_meeting(client, db)
    guest = await (await join(client, meeting, display_name="Gail Guest")).json()
    attendees = []
    for headers, ticket in ((host.headers, host_ticket), (member.headers, member_ticket), ({"Authorization": f"Bearer {guest['token']}"}, guest["ticket"])):
        attendee = await attend(client, headers, ticket)
        attendee.seat = (await attendee.next("meeting.joined"))["you"]["id"]
        attendees.append(attendee)
    peers = [Peer(*args) for args in zip(attendees, (30, 130, 230), (300, 500, 700), amplitudes)]
    for peer in peers:
        await negotiate(peer.attendee, peer.pc)
    router = app[LIVE_MEETINGS].router
    return attendees, peers, router, meeting, host


def publisher_of(payloads: set[bytes], peers: list[Peer]) -> Peer | None:
    """The peer whose encoder made these payloads (None if none did)."""
    return max(peers, key=lambda p: len(payloads & p.sent)) if any(payloads & p.sent for p in peers) else None


async def everyone_shows_the_others(peers: list[Peer]) -> None:
    """Until every slot of every peer carries another participant's media, each of them on one slot per kind."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 12
    while True:
        shown = {p.attendee.seat: {(t.kind, publisher_of(p.received[t], peers)) for t in p.slots} for p in peers}
        wanted = {p.attendee.seat: {(k, o) for o in peers if o is not p for k in ("audio", "video")} for p in peers}
        if shown == wanted or loop.time() > deadline:
            break
        await asyncio.sleep(0.2)
    assert shown == wanted


async def keeps_receiving(peer: Peer, publisher: Peer) -> None:
    """More of ``publisher``'s video reaches ``peer`` within 3 s, on whichever slot shows it now.

    When the stage moves, a slot that switches source waits for a keyframe, and
    keyframe requests are throttled to one a second per source.
    """
    def shown() -> int:
        return sum(len(peer.received[t] & publisher.sent) for t in peer.slots_of("video"))

    before = shown()
    for _ in range(30):
        await asyncio.sleep(0.1)
        if shown() > before:
            return
    raise AssertionError("the video stopped")


async def test_three_participants_on_two_worker_processes_get_each_others_media_forwarded_unchanged(media_processes, app, client, db):
    attendees, peers, router, meeting, _ = await three_across_workers(app, client, db)
    room_id = str(meeting["id"])
    try:
        assert isinstance(router, ProcessRouter) and len(set(router.pids)) == 2 and os.getpid() not in router.pids
        assert [router.placement[(room_id, a.seat)] for a in attendees] == [0, 1, 0]

        await everyone_shows_the_others(peers)
        for peer in peers:
            others = [o for o in peers if o is not peer]
            received = set().union(*peer.received.values())
            assert received and received <= set().union(*(o.sent for o in others))  # nothing the SFU made itself
            lumas = set()
            for transceiver in peer.slots_of("video"):
                for _ in range(3):
                    frame = await asyncio.wait_for(transceiver.receiver.track.recv(), 10)
                    assert (frame.width, frame.height) == (320, 240)
                    luma = min((o.luma for o in others), key=lambda luma: abs(luma - mean_luma(frame)))
                    assert abs(luma - mean_luma(frame)) < 50  # the levels are 100 apart
                    lumas.add(luma)
            assert lumas == {o.luma for o in others}
            for transceiver in peer.slots_of("audio"):
                assert (await asyncio.wait_for(transceiver.receiver.track.recv(), 10)).sample_rate == 48000
        got = [len(set().union(*p.received.values())) for p in peers]  # distinct packets, read before the counters
        stats = [await router.call(i, "stats") for i in range(2)]
        assert stats[0]["forwarded"] >= got[0] + got[2] and stats[1]["forwarded"] >= got[1], (got, stats)  # each worker sent to its own
        assert stats[0]["fanout_dropped"] == stats[1]["fanout_dropped"] == 0
    finally:
        await close_all(*attendees)


async def test_who_leaves_or_drops_is_announced_and_the_others_go_on(short_media_timeout, media_processes, app, client, db):
    attendees, peers, router, meeting, _ = await three_across_workers(app, client, db)
    room_id, (a, b, c) = str(meeting["id"]), attendees
    try:
        await everyone_shows_the_others(peers)
        # b, alone on worker 1, closes its socket; the test server cancels the socket's handler as it goes
        await b.ws.close()
        for attendee in (a, c):
            left = await attendee.next("meeting.participant_left", timeout=5)
            assert (left["participant"], left["reason"]) == (b.seat, "left")
        assert (room_id, b.seat) not in router.placement and router.load == [2, 0]
        await keeps_receiving(peers[0], peers[2])
        await keeps_receiving(peers[2], peers[0])

        silence(c.pc)  # c's network vanishes: only its worker process can tell
        left = await a.next("meeting.participant_left", timeout=10)
        assert (left["participant"], left["reason"]) == (c.seat, "connection lost")
        assert router.load == [1, 0]
    finally:
        await close_all(*attendees)


async def test_the_recorder_on_worker_0_records_the_speaker_on_worker_1(media_processes, app, client, db):
    attendees, peers, router, meeting, host = await three_across_workers(app, client, db, amplitudes=(300, 8000, 300))
    a, b, _ = attendees
    assert router.placement[(str(meeting["id"]), b.seat)] == 1  # the recorder is worker 0's
    try:
        await a.next("meeting.speaker", participant=b.seat)  # the loudest, on worker 1, is on stage
        await a.send({"type": "meeting.record", "recording": True})
        assert (await a.next("meeting.recording"))["recording"] is True
        await asyncio.sleep(2)
        await a.send({"type": "meeting.record", "recording": False})
        assert (await a.next("meeting.recording"))["recording"] is False
    finally:
        await close_all(*attendees)
    listed = await (await client.get(f"/api/v1/orgs/{meeting['org_id']}/meetings/{meeting['id']}/recordings", headers=host.headers)).json()
    assert [r["status"] for r in listed] == ["done"] and listed[0]["audio_packets"] > 0
    data = await (await client.get(listed[0]["download_url"], headers=host.headers)).read()
    with av.open(io.BytesIO(data)) as container:
        lumas = [mean_luma(frame) for frame in container.decode(video=0)]
    assert len(lumas) == listed[0]["video_frames"] > 10 and all(abs(luma - 130) < 50 for luma in lumas)  # b's camera, all decodable


async def test_every_video_slot_starts_with_a_keyframe(media_processes, app, client, db):
    attendees, peers, *_ = await three_across_workers(app, client, db)
    try:
        await everyone_shows_the_others(peers)
        firsts = {(p.attendee.seat, t.mid): vp8.is_keyframe_start(p.first[t]) for p in peers for t in p.slots_of("video")}
        assert all(firsts.values()), firsts  # the last to join gets the others' cameras mid-stream
    finally:
        await close_all(*attendees)


async def test_a_default_install_runs_one_media_worker_process_per_core(app, client):
    for name in ("MUSTER_ROOMS_MEDIA_PROCESSES", "MUSTER_ROOMS_MEDIA_WORKERS"):
        assert name not in os.environ  # the default configuration, as `muster serve` and the demo start it
    router = app[LIVE_MEETINGS].router
    assert isinstance(router, ProcessRouter) and len(set(router.pids)) == (os.cpu_count() or 1) and os.getpid() not in router.pids
    stats = [await router.call(i, "stats") for i in range(router.worker_count)]
    assert [s["forwarded"] for s in stats] == [0] * len(stats)  # every worker answers
