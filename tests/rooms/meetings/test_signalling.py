"""Meetings over the device WebSocket with real aiortc peers: media through the SFU, lobby, host controls, bad input, drops."""
import asyncio
import json

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from tests.factories import make_org, person
from tests.rooms.meetings.test_meetings_api import add_member, create, join


class Attendee:
    """A device socket in a meeting, and the frames it got, by type."""

    def __init__(self, ws):
        self.ws = ws
        self.frames: list[dict] = []
        self.pc: RTCPeerConnection | None = None
        self.tracks: dict[str, object] = {}

    async def send(self, frame: dict) -> None:
        await self.ws.send_str(json.dumps(frame))

    async def next(self, type_: str, timeout: float = 10.0, **match) -> dict:
        for frame in self.frames:
            if frame["type"] == type_ and all(frame.get(k) == v for k, v in match.items()):
                self.frames.remove(frame)
                return frame
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            msg = await self.ws.receive(timeout=max(deadline - asyncio.get_running_loop().time(), 0.01))
            frame = json.loads(msg.data)
            if frame["type"] == type_ and all(frame.get(k) == v for k, v in match.items()):
                return frame
            self.frames.append(frame)

    async def publish_and_subscribe(self, video: VideoStreamTrack | None = None) -> None:
        pc = self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver(video or VideoStreamTrack(), direction="sendrecv")
        pc.addTransceiver(AudioStreamTrack(), direction="sendrecv")
        pc.on("track", lambda track: self.tracks.__setitem__(track.kind, track))
        await pc.setLocalDescription(await pc.createOffer())
        await self.send({"type": "meeting.offer", "sdp": pc.localDescription.sdp})
        answer = await self.next("meeting.answer")
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))


async def attend(client, headers, ticket) -> Attendee:
    ws = await client.session.ws_connect(client.make_url("/api/v1/ws"))
    await ws.send_str(json.dumps({"type": "hello", "token": headers["Authorization"].removeprefix("Bearer "), "user_seq": 0}))
    attendee = Attendee(ws)
    await attendee.next("ready")
    await attendee.send({"type": "meeting.join", "ticket": ticket})
    return attendee


async def setup_meeting(client, db, **fields):
    host = await person(client, db, "Hana Host")
    org = await make_org(db, host.user)
    member = await person(client, db, "Max Member")
    await add_member(db, org, member)
    meeting = await create(client, host, org, **fields)
    host_ticket = (await (await join(client, meeting, host.headers)).json())["ticket"]
    member_ticket = (await (await join(client, meeting, member.headers)).json())["ticket"]
    return host, member, meeting, host_ticket, member_ticket


async def test_two_participants_exchange_video_and_audio_and_bad_input_hurts_only_the_sender(client, db):
    host, member, meeting, host_ticket, member_ticket = await setup_meeting(client, db)
    a = await attend(client, host.headers, host_ticket)
    joined = await a.next("meeting.joined")
    assert [p["name"] for p in joined["participants"]] == ["Hana Host"]
    b = await attend(client, member.headers, member_ticket)
    assert len((await b.next("meeting.joined"))["participants"]) == 2
    assert (await a.next("meeting.participant_joined"))["participant"]["name"] == "Max Member"
    try:
        await a.publish_and_subscribe()
        await b.publish_and_subscribe()
        for attendee in (a, b):
            for _ in range(50):
                if {"video", "audio"} <= attendee.tracks.keys():
                    break
                await asyncio.sleep(0.1)
            audio = await asyncio.wait_for(attendee.tracks["audio"].recv(), 10)
            video = await asyncio.wait_for(attendee.tracks["video"].recv(), 10)
            assert video.width == 640 and audio.sample_rate == 48000

        await b.send({"type": "meeting.offer", "sdp": "v=0\r\nthis is not sdp", "ref": 7})
        error = await b.next("error", ref=7)
        assert error["error"]["message"].startswith("offer refused")
        no_fingerprint = "\r\n".join(l for l in a.pc.localDescription.sdp.split("\r\n") if not l.startswith("a=fingerprint"))
        await b.send({"type": "meeting.offer", "sdp": no_fingerprint, "ref": 8})
        assert "fingerprint" in (await b.next("error", ref=8))["error"]["message"].lower()

        await b.send({"type": "meeting.mute", "participant": None, "ref": 9})
        assert (await b.next("error", ref=9))["error"]["message"] == "only the host or a co-host can mute"

        await b.send({"type": "meeting.chat", "text": "hello all"})
        assert (await a.next("meeting.chat"))["text"] == "hello all"
        await b.send({"type": "meeting.state", "hand": True})
        assert (await a.next("meeting.state"))["hand"] is True

        for _ in range(3):  # the host's media keeps flowing after the member's bad offers
            await asyncio.wait_for(a.tracks["video"].recv(), 5)

        await a.send({"type": "meeting.mute", "participant": None})
        assert (await b.next("meeting.muted_by_host"))
        start = asyncio.get_running_loop().time()
        await b.ws.close()
        await b.pc.close()
        left = await a.next("meeting.participant_left", timeout=10)
        assert left["participant"] and asyncio.get_running_loop().time() - start < 10
    finally:
        for attendee in (a, b):
            if attendee.pc is not None:
                await attendee.pc.close()
        await a.ws.close()


async def test_lobby_lock_cap_and_removal_by_the_host(client, db):
    host, member, meeting, host_ticket, member_ticket = await setup_meeting(client, db, lobby_enabled=True, cap=2)
    guest = await (await join(client, meeting, display_name="Third")).json()  # before the seats are taken
    a = await attend(client, host.headers, host_ticket)
    await a.next("meeting.joined")
    b = await attend(client, member.headers, member_ticket)
    await b.next("meeting.lobby")
    waiting = await a.next("meeting.waiting")
    await a.send({"type": "meeting.admit", "participant": waiting["participant"]["id"]})
    member_seat = (await b.next("meeting.joined"))["you"]["id"]

    full = await join(client, meeting, display_name="Fourth")
    assert full.status == 409 and (await full.json())["error"]["message"] == "meeting is full (2)"
    c = await attend(client, {"Authorization": f"Bearer {guest['token']}"}, guest["ticket"])
    assert (await c.next("error"))["error"]["message"] == "meeting is full (2)"  # the 3rd on the socket too
    await a.send({"type": "meeting.deny", "participant": member_seat, "ref": 2})
    assert "already in the meeting" in (await a.next("error", ref=2))["error"]["message"]

    await a.send({"type": "meeting.lock", "locked": True})
    assert (await b.next("meeting.settings"))["locked"] is True
    late = await join(client, meeting, display_name="Late")
    assert late.status == 403

    await a.send({"type": "meeting.remove", "participant": member_seat})
    assert await b.next("meeting.removed")
    assert (await a.next("meeting.participant_left"))["reason"] == "removed by the host"
    await a.send({"type": "meeting.end"})
    assert (await a.next("meeting.ended"))["reason"] == "the host ended the meeting"
    for attendee in (a, b, c):
        await attendee.ws.close()

