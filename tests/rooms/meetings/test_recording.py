"""Recording the stage with real aiortc peers: host only, announced, follows the stage, a decodable WebM file."""
import asyncio
import io
import time

import av
import pytest
from aiortc.mediastreams import VideoStreamTrack

from sqlalchemy import select

from rooms.media import rtp
from rooms.media.track import Track
from rooms.media.worker import Worker
from rooms.recording.frames import FrameAssembler
from rooms.recording.webm import WebmWriter
from server.appkeys import SETTINGS
from server.files.models import OrgStorage, StoredFile
from server.files.storage import files_dir
from tests.factories import make_org, person
from tests.rooms.meetings.test_meetings_api import create
from tests.rooms.meetings.test_signalling import attend, close_all, setup_meeting, wait_for_video


class SolidVideo(VideoStreamTrack):
    """A camera showing one grey level, so the recording tells whose picture is on stage."""

    def __init__(self, luma: int) -> None:
        super().__init__()
        self.luma = luma

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(320, 240, "yuv420p")
        for plane, value in zip(frame.planes, (self.luma, 128, 128)):
            plane.update(bytes([value]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


def mean_luma(frame) -> float:
    sample = bytes(frame.planes[0])[::101]
    return sum(sample) / len(sample)


async def test_the_host_records_the_stage_and_the_file_follows_the_speaker_switch(client, db):
    host, member, meeting, host_ticket, member_ticket = await setup_meeting(client, db)
    a = await attend(client, host.headers, host_ticket)
    await a.next("meeting.joined")
    b = await attend(client, member.headers, member_ticket)
    assert (await b.next("meeting.joined"))["recording"] is False
    recordings_url = f"/api/v1/orgs/{meeting['org_id']}/meetings/{meeting['id']}/recordings"
    try:
        await b.publish_and_subscribe(SolidVideo(220))  # first camera: on stage while nobody speaks
        await a.publish_and_subscribe(SolidVideo(30))
        await wait_for_video(a)

        await b.send({"type": "meeting.record", "recording": True, "ref": 1})
        assert (await b.next("error", ref=1))["error"]["message"] == "only the host or a co-host can record"
        await a.send({"type": "meeting.record", "recording": True})
        started = await b.next("meeting.recording")
        assert started["recording"] is True and started["by"] == (await a.next("meeting.recording"))["by"]
        await a.send({"type": "meeting.record", "recording": True, "ref": 2})
        assert (await a.next("error", ref=2))["error"]["code"] == "already_recording"
        await asyncio.sleep(2)

        await b.send({"type": "meeting.leave"})  # the stage moves to the host's camera
        await a.next("meeting.participant_left")
        await b.pc.close()
        await asyncio.sleep(2)
        await a.send({"type": "meeting.record", "recording": False})
        stopped = await a.next("meeting.recording")
        assert stopped["recording"] is False and stopped["recording_id"] == started["recording_id"]
        await wait_for_video(a, 1)  # the meeting goes on
    finally:
        await close_all(a, b)

    listed = await (await client.get(recordings_url, headers=host.headers)).json()
    assert [r["status"] for r in listed] == ["done"] and listed[0]["video_frames"] > 0 and listed[0]["audio_packets"] > 0
    assert listed[0]["download_url"] == f"/api/v1/orgs/{meeting['org_id']}/files/{listed[0]['file_id']}"  # a platform file
    download = await client.get(listed[0]["download_url"], headers=host.headers)
    assert download.status == 200 and download.headers["Content-Disposition"].endswith(f"meeting-{meeting['id']}-recording-{listed[0]['id']}.webm")
    data = await download.read()
    assert len(data) == listed[0]["size_bytes"]
    assert await (await client.get(recordings_url, headers=member.headers)).json() == listed  # the member was in it: a participant
    by_member = await client.get(f"{recordings_url}/{listed[0]['id']}", headers=member.headers)
    assert by_member.status == 200 and await by_member.read() == data
    log = await (await client.get(f"/api/v1/orgs/{meeting['org_id']}/audit", params={"action": "recording."}, headers=host.headers)).json()
    assert [(e["action"], e["actor_user_id"], e["target_id"]) for e in log["items"]] == [
        ("recording.downloaded", member.id, listed[0]["id"]), ("recording.downloaded", host.id, listed[0]["id"]),
        ("recording.started", host.id, listed[0]["id"]),
    ]

    with av.open(io.BytesIO(data)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.name == "vp8" and audio.codec_context.name == "opus"
        packets = [p for p in container.demux(video) if p.size]
    assert len(packets) == listed[0]["video_frames"]
    assert packets[0].is_keyframe
    times = [p.pts for p in packets]
    assert times == sorted(times) and len(set(times)) == len(times)
    with av.open(io.BytesIO(data)) as container:
        lumas = [mean_luma(frame) for frame in container.decode(video=0)]
    assert len(lumas) == len(packets)  # every frame written decodes, across the switch
    assert lumas[0] > 180 and lumas[-1] < 70  # the member's picture, then the host's
    with av.open(io.BytesIO(data)) as container:
        assert sum(1 for p in container.demux(audio=0) if p.size) == listed[0]["audio_packets"]


def packet(seq: int, ts: int, payload: bytes, marker: bool) -> bytes:
    return bytes([0x80, (0x80 if marker else 0) | 96]) + seq.to_bytes(2, "big") + ts.to_bytes(4, "big") + b"\x00\x00\x00\x01" + payload


def test_a_lost_packet_drops_frames_until_the_next_keyframe_and_asks_for_one():
    asked = []
    frames = FrameAssembler(on_loss=lambda: asked.append(1))
    key = b"\x10" + b"\x00\x00\x00\x9d\x01\x2a"  # descriptor S=1, then a keyframe header (P=0)
    delta = b"\x10" + b"\x01\x00\x00"  # P=1
    assert frames.push(packet(1, 100, delta, True)) is None  # nothing before the first keyframe
    assert frames.push(packet(2, 200, key, False)) is None
    assert frames.push(packet(3, 200, b"\x00" + b"rest", True)) == (200, key[1:] + b"rest", True)
    assert frames.push(packet(4, 300, delta, True)) == (300, delta[1:], False)
    assert frames.push(packet(5, 400, delta, False)) is None
    assert frames.push(packet(7, 400, b"\x00more", True)) is None  # packet 6 lost
    assert asked == [1]
    assert frames.push(packet(8, 500, delta, True)) is None  # undecodable without the lost frame
    assert frames.push(packet(9, 600, key, True)) == (600, key[1:], True)


def test_the_recorder_puts_a_screen_share_on_stage_and_hears_the_dominant_speaker(tmp_path):
    worker = Worker(0, lambda event: None)

    def track(track_id: int, owner: str, kind: str, screen: bool = False) -> Track:
        return Track(track_id, "r", owner, 0, kind, screen, track_id, 90000 if kind == "video" else 48000, 1 if kind == "audio" else None)

    cam_a, cam_b, mic_a, mic_b, screen_a = track(1, "a", "video"), track(2, "b", "video"), track(3, "a", "audio"), track(4, "b", "audio"), track(5, "a", "video", True)
    for t in (cam_a, cam_b, mic_a, mic_b):
        worker.add_track(t)
    worker.start_recording("r", str(tmp_path / "r.webm"))
    room = worker.rooms.rooms["r"]
    recorder = room.stage_sinks["recording"]
    assert (recorder.video.source, recorder.audio.source) == (cam_a, mic_a)  # nobody spoke: the first camera, its owner's voice

    now = time.monotonic()
    for i in range(20):
        room.speakers.observe("b", 10, now - 0.4 + i * 0.02)
    worker.selection.select(room, now)
    assert room.speakers.dominant == "b" and (recorder.video.source, recorder.audio.source) == (cam_b, mic_b)

    worker.add_track(screen_a)
    assert (recorder.video.source, recorder.audio.source) == (screen_a, mic_b)  # the share on stage, the speaker heard
    assert recorder.video.waiting_keyframe
    worker.remove_track(screen_a.track_id)
    assert recorder.video.source is cam_b

    assert worker.stop_recording("r")["error"] == "nothing was recorded: no audio or video reached the stage"
    assert "recording" not in room.stage_sinks and not cam_b.slots and not (tmp_path / "r.webm").exists()


def test_audio_without_video_makes_an_audio_only_file(tmp_path):
    writer = WebmWriter(tmp_path / "a.webm")
    for i in range(10):
        writer.audio(20 * i, b"\xfc\xff\xfe")  # an Opus packet: 20 ms, no data (packet loss concealment)
    assert writer.close()["audio_packets"] == 10
    with av.open(str(tmp_path / "a.webm")) as container:
        assert [s.type for s in container.streams] == ["audio"]
        assert sum(1 for p in container.demux() if p.size) == 10


def test_long_sound_before_the_first_keyframe_is_kept(tmp_path):
    writer = WebmWriter(tmp_path / "late.webm")
    for i in range(400):  # 8 s of sound before anyone shows video: the file opens after 5 s, with a nominal size
        writer.audio(20 * i, b"\xfc\xff\xfe")
    writer.video(8000, b"\x00\x00\x00\x9d\x01\x2a" + (320).to_bytes(2, "little") + (240).to_bytes(2, "little"), True)
    assert writer.close()["audio_packets"] == 400
    with av.open(str(tmp_path / "late.webm")) as container:
        assert sorted(s.type for s in container.streams) == ["audio", "video"]
        assert sum(1 for p in container.demux(audio=0) if p.size) == 400


def test_a_write_failure_stops_the_recording_and_says_so(tmp_path):
    events = []
    worker = Worker(0, events.append)
    camera = Track(1, "r", "a", 0, "video", False, 1, 90000, None)
    worker.add_track(camera)
    worker.start_recording("r", str(tmp_path / "no-such-folder" / "r.webm"))
    keyframe = packet(1, 100, b"\x10" + b"\x00\x00\x00\x9d\x01\x2a" + (320).to_bytes(2, "little") + (240).to_bytes(2, "little"), True)
    worker.forwarder.deliver(camera, keyframe, rtp.parse_header(keyframe), time.monotonic())  # the first frame opens the file: it fails
    assert [(e["event"], e["room"]) for e in events] == [("recording_failed", "r")]
    assert events[0]["message"].startswith("writing the recording failed")
    assert not camera.slots  # the recorder let go of the stage; forwarding goes on
    assert worker.stop_recording("r")["error"] == events[0]["message"]


@pytest.fixture
def small_recording_limit(monkeypatch):
    """Set before the app starts: the media worker processes it starts read their settings from the environment they inherit."""
    monkeypatch.setenv("MUSTER_ROOMS_RECORDING_MAX_MB", "0.02")


async def test_a_recording_stops_at_the_size_limit_with_a_playable_file_and_a_host_deletes_it(small_recording_limit, client, db, app):
    limit = int(0.02 * 1024 * 1024)
    host, member, meeting, host_ticket, _ = await setup_meeting(client, db)
    a = await attend(client, host.headers, host_ticket)
    await a.next("meeting.joined")
    recordings_url = f"/api/v1/orgs/{meeting['org_id']}/meetings/{meeting['id']}/recordings"
    try:
        await a.publish_and_subscribe(SolidVideo(200))
        await a.send({"type": "meeting.record", "recording": True})
        started = await a.next("meeting.recording", recording=True)
        stopped = await a.next("meeting.recording", recording=False, timeout=30)
        assert stopped["recording_id"] == started["recording_id"] and stopped["by"] is None and stopped["error"] is None
        assert stopped["stopped"] == "it reached the size limit (0.02 MB)"

        await a.send({"type": "meeting.record", "recording": True})  # the meeting goes on and can record again
        second = await a.next("meeting.recording", recording=True)
        busy = await client.delete(f"{recordings_url}/{second['recording_id']}", headers=host.headers)
        assert busy.status == 409 and (await busy.json())["error"]["code"] == "still_recording"
        await a.send({"type": "meeting.record", "recording": False})
        await a.next("meeting.recording", recording=False)
    finally:
        await close_all(a)

    listed = {r["id"]: r for r in await (await client.get(recordings_url, headers=host.headers)).json()}
    first = listed[started["recording_id"]]
    assert first["status"] == "done" and 0 < first["size_bytes"] <= limit and first["video_frames"] > 0
    data = await (await client.get(first["download_url"], headers=host.headers)).read()
    assert len(data) == first["size_bytes"]
    with av.open(io.BytesIO(data)) as container:
        assert len(list(container.decode(video=0))) == first["video_frames"]  # every frame written plays, to the last
    with av.open(io.BytesIO(data)) as container:
        assert sum(1 for p in container.demux(audio=0) if p.size) == first["audio_packets"]

    one = f"{recordings_url}/{first['id']}"
    async with db.transaction(org_id=meeting["org_id"]) as tx:
        file = await tx.session.get(StoredFile, first["file_id"])
        held = await tx.session.scalar(select(OrgStorage.reserved_bytes).where(OrgStorage.org_id == meeting["org_id"]))
    path = files_dir(app[SETTINGS]) / file.storage_key
    assert path.is_file() and file.size == first["size_bytes"] and file.owner_kind == "meeting_recording"
    assert held >= first["size_bytes"] + listed[second["recording_id"]]["size_bytes"]  # counted in the organisation's quota
    assert (await client.delete(one, headers=member.headers)).status == 403  # a member, not a host
    assert (await client.get(first["download_url"], headers=member.headers)).status == 404  # and not in the meeting
    assert (await client.get(one, headers=member.headers)).status == 404
    assert await (await client.get(recordings_url, headers=member.headers)).json() == []
    outsider = await person(client, db, "Olga Outsider")
    other_org = await make_org(db, outsider.user)
    own = await create(client, outsider, other_org)  # a host, but of another organisation's meeting
    for url in (one, f"/api/v1/orgs/{other_org.id}/meetings/{meeting['id']}/recordings/{first['id']}",
                f"/api/v1/orgs/{other_org.id}/meetings/{own['id']}/recordings/{first['id']}"):
        assert (await client.delete(url, headers=outsider.headers)).status == 404, url
    for url in (one, first["download_url"], f"/api/v1/orgs/{other_org.id}/files/{first['file_id']}"):
        assert (await client.get(url, headers=outsider.headers)).status == 404, url
    bad = await client.delete(f"{recordings_url}/latest", headers=host.headers)
    assert bad.status == 404 and (await bad.json())["error"]["message"] == "no such recording"

    assert (await client.delete(one, headers=host.headers)).status == 204
    assert not path.exists()
    async with db.transaction(org_id=meeting["org_id"]) as tx:
        assert await tx.session.get(StoredFile, first["file_id"]) is None
        assert await tx.session.scalar(select(OrgStorage.reserved_bytes).where(OrgStorage.org_id == meeting["org_id"])) == held - first["size_bytes"]
    assert (await client.get(first["download_url"], headers=host.headers)).status == 404
    assert first["id"] not in {r["id"] for r in await (await client.get(recordings_url, headers=host.headers)).json()}
    assert (await client.get(one, headers=host.headers)).status == 404
    assert (await client.delete(one, headers=host.headers)).status == 404


def test_the_writer_stops_before_the_size_limit_and_the_file_still_opens(tmp_path):
    keyframe = b"\x00\x00\x00\x9d\x01\x2a" + (320).to_bytes(2, "little") + (240).to_bytes(2, "little")
    writer = WebmWriter(tmp_path / "capped.webm", max_bytes=64 * 1024)
    for i in range(2000):
        writer.video(33 * i, keyframe + bytes(900), True)
        writer.audio(33 * i, b"\xfc\xff\xfe")
    assert writer.full and 40 < writer.video_frames < 70
    stats = writer.close()
    assert stats["size_bytes"] == (tmp_path / "capped.webm").stat().st_size <= 64 * 1024
    with av.open(str(tmp_path / "capped.webm")) as container:
        kinds = [p.stream.type for p in container.demux() if p.size]
    assert (kinds.count("video"), kinds.count("audio")) == (stats["video_frames"], stats["audio_packets"])
