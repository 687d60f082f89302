"""Meetings over the device WebSocket with real aiortc peers: media through the SFU, lobby, host controls, bad input, drops."""
import asyncio
import json

import pytest

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from rooms.config import RoomsSettings
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


async def wait_for_video(attendee: Attendee, frames: int = 3) -> None:
    """Until the attendee's video slot has delivered ``frames`` decoded frames."""
    for _ in range(50):
        if "video" in attendee.tracks:
            break
        await asyncio.sleep(0.1)
    for _ in range(frames):
        await asyncio.wait_for(attendee.tracks["video"].recv(), 10)


async def close_all(*attendees: Attendee) -> None:
    for attendee in attendees:
        if attendee.pc is not None:
            await attendee.pc.close()
        await attendee.ws.close()


async def went_quiet(track, quiet_s: float = 0.6) -> bool:
    """True once ``track`` delivers nothing for ``quiet_s`` (after what was already on its way)."""
    for _ in range(200):
        try:
            await asyncio.wait_for(track.recv(), quiet_s)
        except asyncio.TimeoutError:
            return True
    return False


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
    b_joined = await b.next("meeting.joined")
    assert len(b_joined["participants"]) == 2
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
        for _ in range(5):  # the SFU tells each seat whom its video slots show, as that changes
            layout = (await a.next("meeting.layout"))["slots"]
            if b_joined["you"]["id"] in layout.values():
                break
        assert list(layout.values()).count(b_joined["you"]["id"]) == 1, layout

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
        # b's client keeps sending audio, but the SFU drops it until b unmutes
        assert await went_quiet(a.tracks["audio"])
        await b.send({"type": "meeting.state", "audio": True})
        await asyncio.wait_for(a.tracks["audio"].recv(), 5)
        start = asyncio.get_running_loop().time()
        await b.ws.close()
        await b.pc.close()
        left = await a.next("meeting.participant_left", timeout=10)
        assert left["participant"] and asyncio.get_running_loop().time() - start < 10
    finally:
        await close_all(a, b)


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
    again = await attend(client, member.headers, member_ticket)
    assert (await again.next("error"))["error"] == {"code": "removed", "message": "the host removed you from this meeting"}
    await a.send({"type": "meeting.end"})
    assert (await a.next("meeting.ended"))["reason"] == "the host ended the meeting"
    for attendee in (a, b, c, again):
        await attendee.ws.close()
    log = await (await client.get(f"/api/v1/orgs/{meeting['org_id']}/audit", params={"action": "meeting."}, headers=host.headers)).json()
    assert [(e["action"], e["actor_user_id"], e["target_id"]) for e in log["items"]] == [
        ("meeting.ended", host.id, meeting["id"]), ("meeting.participant_removed", host.id, meeting["id"])
    ]
    assert log["items"][1]["details"]["user_id"] == member.id


async def test_the_waiting_list_follows_who_leaves_the_lobby_and_a_late_host_gets_it(client, db):
    host, member, meeting, host_ticket, member_ticket = await setup_meeting(client, db, lobby_enabled=True)
    a = await attend(client, host.headers, host_ticket)
    await a.next("meeting.joined")
    b = await attend(client, member.headers, member_ticket)
    await b.next("meeting.lobby")
    waiting = (await a.next("meeting.waiting"))["participant"]["id"]
    await a.send({"type": "meeting.remove", "participant": waiting, "ref": 1})
    assert (await a.next("error", ref=1))["error"]["message"] == "this participant is still in the lobby; use meeting.admit or meeting.deny"
    await b.ws.close()
    assert await a.next("meeting.participant_left", participant=waiting, reason="left")

    b = await attend(client, member.headers, member_ticket)
    await b.next("meeting.lobby")
    waiting = (await a.next("meeting.waiting"))["participant"]["id"]
    await a.send({"type": "meeting.leave"})
    a = await attend(client, host.headers, host_ticket)  # the host comes back: the lobby is still there
    joined = await a.next("meeting.joined")
    assert [p["id"] for p in joined["waiting"]] == [waiting]
    await a.send({"type": "meeting.remove", "participant": joined["you"]["id"], "ref": 2})
    assert (await a.next("error", ref=2))["error"]["message"] == "to leave the meeting yourself, send meeting.leave"

    await a.send({"type": "meeting.deny", "participant": waiting})
    assert (await b.next("meeting.denied"))["reason"] == "the host did not let you in"
    assert await a.next("meeting.participant_left", participant=waiting, reason="not let in")
    for attendee in (a, b):
        await attendee.ws.close()



async def test_host_controls_and_what_a_participant_may_not_do(client, db):
    host, member, meeting, host_ticket, member_ticket = await setup_meeting(client, db)
    a = await attend(client, host.headers, host_ticket)
    host_seat = (await a.next("meeting.joined"))["you"]["id"]
    b = await attend(client, member.headers, member_ticket)
    member_seat = (await b.next("meeting.joined"))["you"]["id"]
    await a.next("meeting.participant_joined")

    for ref, command in enumerate(("mute", "stop_video", "remove", "end", "lock", "admit", "deny", "cohost", "record")):
        await b.send({"type": f"meeting.{command}", "participant": host_seat, "locked": True, "recording": True, "ref": ref})
        error = await b.next("error", ref=ref)
        assert error["error"]["code"] == "forbidden"
        assert error["error"]["message"] == f"only the host or a co-host can {command.replace('_', ' ')}"

    await b.send({"type": "meeting.state", "hand": True, "audio": False, "video": False})
    state = await a.next("meeting.state")
    assert (state["participant"], state["hand"], state["audio"], state["video"]) == (member_seat, True, False, False)
    await b.send({"type": "meeting.state", "hand": False, "audio": True, "video": True})
    assert (await a.next("meeting.state"))["hand"] is False
    await b.send({"type": "meeting.state", "hand": "yes", "ref": 20})
    assert "true/false" in (await b.next("error", ref=20))["error"]["message"]
    await b.send({"type": "meeting.reaction", "emoji": "👏"})
    assert (await a.next("meeting.reaction")) == {"type": "meeting.reaction", "participant": member_seat, "emoji": "👏"}
    await b.send({"type": "meeting.reaction", "emoji": "x" * 20, "ref": 21})
    assert (await b.next("error", ref=21))["error"]["message"] == "reaction needs 'emoji' (up to 8 characters)"
    await b.send({"type": "meeting.chat", "text": "  ", "ref": 22})
    assert (await b.next("error", ref=22))["error"]["message"] == "chat needs 'text' (1-4000 characters)"

    await a.send({"type": "meeting.mute", "participant": member_seat})
    assert (await b.next("meeting.muted_by_host"))["by"] == host_seat
    muted = await a.next("meeting.state", participant=member_seat)
    assert muted["audio"] is False and muted["video"] is True
    await a.send({"type": "meeting.stop_video", "participant": member_seat})
    assert (await b.next("meeting.video_stopped_by_host"))["by"] == host_seat
    assert (await a.next("meeting.state", participant=member_seat))["video"] is False
    await a.send({"type": "meeting.remove", "participant": "nobody", "ref": 23})
    assert (await a.next("error", ref=23))["error"]["message"] == "no such participant in this meeting"
    await a.send({"type": "meeting.cohost", "participant": member_seat})
    assert (await b.next("meeting.role"))["role"] == "cohost"
    await b.send({"type": "meeting.remove", "participant": host_seat, "ref": 24})
    assert (await b.next("error", ref=24))["error"]["message"] == "a co-host cannot remove the host"

    ended = await client.post(f"/api/v1/orgs/{meeting['org_id']}/meetings/{meeting['id']}/end", headers=host.headers)
    assert ended.status == 200
    for attendee in (a, b):
        assert (await attendee.next("meeting.ended"))["reason"] == "the host ended the meeting"
        await attendee.ws.close()


def silence(pc: RTCPeerConnection) -> None:
    """The network under this peer vanishes: nothing it sends arrives, and its socket stays open (no ICMP, no close)."""
    for transceiver in pc.getTransceivers():
        for protocol in transceiver.sender.transport.transport._connection._protocols:
            protocol.transport.sendto = lambda *args, **kwargs: None


async def test_a_participant_whose_network_vanishes_is_removed_within_10_s(short_media_timeout, client, db):
    assert RoomsSettings().media_timeout_s == 2
    assert RoomsSettings.model_fields["media_timeout_s"].default + 1.2 < 10  # the default keeps the promise: timeout + one check
    host, member, meeting, host_ticket, member_ticket = await setup_meeting(client, db)
    a = await attend(client, host.headers, host_ticket)
    await a.next("meeting.joined")
    b = await attend(client, member.headers, member_ticket)
    member_seat = (await b.next("meeting.joined"))["you"]["id"]
    try:
        await a.publish_and_subscribe()
        await b.publish_and_subscribe()
        await wait_for_video(a)
        silence(b.pc)  # b's WebSocket stays open: only the media path can tell
        start = asyncio.get_running_loop().time()
        left = await a.next("meeting.participant_left", timeout=10)
        elapsed = asyncio.get_running_loop().time() - start
        assert (left["participant"], left["reason"]) == (member_seat, "connection lost")
        assert 2 <= elapsed < 10
        assert (await b.next("error"))["error"]["code"] == "media_failed"
        await a.send({"type": "meeting.chat", "text": "still here"})
        assert (await a.next("meeting.chat"))["text"] == "still here"
        await b.send({"type": "meeting.join", "ticket": member_ticket})  # back: the list has no ghost of the lost seat
        assert [p["name"] for p in (await b.next("meeting.joined"))["participants"]] == ["Hana Host", "Max Member"]
    finally:
        await close_all(a, b)


def server_media_port(pc: RTCPeerConnection) -> int:
    """The SFU's host candidate port, from the answer."""
    candidate = next(line for line in pc.remoteDescription.sdp.split("\r\n") if line.startswith("a=candidate:"))
    return int(candidate.split()[5])


async def test_malformed_rtp_rtcp_and_garbage_udp_get_the_sender_an_error_and_the_meeting_goes_on(client, db):
    host, member, meeting, host_ticket, member_ticket = await setup_meeting(client, db)
    a = await attend(client, host.headers, host_ticket)
    await a.next("meeting.joined")
    b = await attend(client, member.headers, member_ticket)
    await b.next("meeting.joined")
    try:
        await a.publish_and_subscribe()
        await b.publish_and_subscribe()
        await wait_for_video(a)
        await wait_for_video(b)

        dtls = b.pc.getTransceivers()[0].sender.transport  # b's own SRTP session: the SFU decrypts these fine
        await dtls._send_rtp(bytes([0xA0, 96, 0, 1]) + bytes(8) + b"\x01\x02\x03\x00")  # P=1, padding length 0
        rtp_error = (await b.next("error"))["error"]
        assert rtp_error["code"] == "bad_rtp" and "padding length 0 is invalid" in rtp_error["message"]
        await dtls._send_rtp(bytes([0x83, 201, 0, 1]) + bytes(4))  # a receiver report announcing 3 blocks, with none
        rtcp_error = (await b.next("error"))["error"]
        assert rtcp_error["code"] == "bad_rtcp" and "announces 3 report blocks" in rtcp_error["message"]

        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, remote_addr=("127.0.0.1", server_media_port(b.pc)))
        for first in (0x00, 0x01, 0x16, 0x17, 0x30, 0x80, 0x81, 0xC8, 0xFF):  # STUN, DTLS, RTP, RTCP ranges and beyond
            for size in (1, 13, 200):
                transport.sendto(bytes([first]) + bytes(range(size)) [: size - 1])
        transport.close()

        await wait_for_video(a, 10)  # both keep receiving each other's video
        await wait_for_video(b, 10)
        assert not [f for f in a.frames if f["type"] == "error"]  # nobody else heard of b's bad packets
    finally:
        await close_all(a, b)


async def test_a_second_socket_of_the_same_session_replaces_its_seat_and_leaves_no_ghost_with_media(client, db):
    host, member, meeting, host_ticket, member_ticket = await setup_meeting(client, db)
    a = await attend(client, host.headers, host_ticket)
    await a.next("meeting.joined")
    first = await attend(client, member.headers, member_ticket)
    seat = (await first.next("meeting.joined"))["you"]["id"]
    await a.next("meeting.participant_joined")
    second = None
    try:
        await a.publish_and_subscribe()
        await first.publish_and_subscribe()
        await wait_for_video(a)

        await a.send({"type": "meeting.lock", "locked": True})  # the same device coming back is not someone new
        await first.next("meeting.settings")
        second = await attend(client, member.headers, member_ticket)  # the same device session, a second socket
        assert (await first.next("meeting.replaced"))["participant"] == seat
        joined = await second.next("meeting.joined")
        assert joined["you"]["id"] == seat
        assert sorted(p["name"] for p in joined["participants"]) == ["Hana Host", "Max Member"]
        left = await a.next("meeting.participant_left", participant=seat)
        assert left["reason"] == "joined again from another connection"
        assert (await a.next("meeting.participant_joined"))["participant"]["id"] == seat
        # the first socket's peer keeps sending, but its seat and media are gone from the SFU
        assert await went_quiet(a.tracks["video"])
        await first.send({"type": "meeting.chat", "text": "ghost?", "ref": 1})
        assert (await first.next("error", ref=1))["error"]["message"] == "join a meeting first (meeting.join)"

        await a.send({"type": "meeting.remove", "participant": seat})  # the one seat the session has is the one the host sees
        assert await second.next("meeting.removed")
        assert (await a.next("meeting.participant_left", participant=seat))["reason"] == "removed by the host"
        await a.send({"type": "meeting.chat", "text": "alone"})
        assert (await a.next("meeting.chat"))["text"] == "alone"
        assert not [f for f in a.frames if f["type"] == "meeting.participant_joined"]
    finally:
        await close_all(a, first, *([second] if second else []))


async def test_an_offer_with_too_many_media_sections_or_too_long_gets_an_error_frame_before_it_is_parsed(in_process_media, client, db, monkeypatch):
    from aiortc import sdp

    from tests.rooms.media.test_offer import many_m_lines

    host, member, meeting, host_ticket, member_ticket = await setup_meeting(client, db)
    a = await attend(client, host.headers, host_ticket)
    await a.next("meeting.joined")
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    for kind in ("video", "audio", "video"):
        pc.addTransceiver(kind, direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    parsed = []
    real_parse = sdp.SessionDescription.parse
    monkeypatch.setattr(sdp.SessionDescription, "parse", staticmethod(lambda text: parsed.append(text) or real_parse(text)))
    try:
        await a.send({"type": "meeting.offer", "sdp": many_m_lines(pc.localDescription.sdp, 40), "ref": 1})
        error = (await a.next("error", ref=1))["error"]
        assert error == {"code": "bad_offer", "message": "offer refused: the offer has 40 media sections (m-lines); at most 32 are accepted"}
        await a.send({"type": "meeting.offer", "sdp": pc.localDescription.sdp + "a=x:" + "x" * 100_000 + "\r\n", "ref": 2})
        assert "at most 100000 are accepted" in (await a.next("error", ref=2))["error"]["message"]
        assert parsed == []
        await a.send({"type": "meeting.offer", "sdp": pc.localDescription.sdp, "ref": 3})
        assert (await a.next("meeting.answer"))["ref"] == 3 and len(parsed) == 1
    finally:
        await pc.close()
        await a.ws.close()


@pytest.mark.parametrize("via_socket", [False, True], ids=["rest", "socket"])
async def test_when_a_meeting_ends_its_guests_are_signed_out_and_their_sockets_closed(via_socket, client, db):
    from aiohttp import WSMsgType

    from server.gateway.frames import CLOSE_UNAUTHENTICATED

    host, member, meeting, host_ticket, member_ticket = await setup_meeting(client, db)
    guest = await (await join(client, meeting, display_name="Gail Guest")).json()
    guest_headers = {"Authorization": f"Bearer {guest['token']}"}
    meeting_url = f"/api/v1/orgs/{meeting['org_id']}/meetings/{meeting['id']}"
    a = await attend(client, host.headers, host_ticket)
    await a.next("meeting.joined")
    g = await attend(client, guest_headers, guest["ticket"])
    await g.next("meeting.joined")
    assert (await client.get(meeting_url, headers=guest_headers)).status == 200

    second = await (await join(client, meeting, display_name="Gus Guest")).json()  # in the lobby of nothing: never joined
    second_headers = {"Authorization": f"Bearer {second['token']}"}

    if via_socket:
        await a.send({"type": "meeting.end"})
    else:
        assert (await client.post(meeting_url + "/end", headers=host.headers)).status == 200
    assert (await g.next("meeting.ended"))["reason"] == "the host ended the meeting"  # first: the page says why
    while True:  # then the platform closes the guest's socket: its session is over
        msg = await g.ws.receive(timeout=5)
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
            break
    assert g.ws.close_code == CLOSE_UNAUTHENTICATED
    for headers in (guest_headers, second_headers):
        assert (await client.get(meeting_url, headers=headers)).status == 401
    assert (await client.get(meeting_url, headers=host.headers)).status == 200  # members keep their sessions
    assert (await a.next("meeting.ended"))
    assert not a.ws.closed
    await close_all(a, g)
