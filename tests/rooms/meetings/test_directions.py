"""One-way m-lines through the meeting signalling with real aiortc peers.

The "sendonly/recvonly offers get no frames" bug was in the aiortc client, not
the SFU: with aiortc's default ``balanced`` bundle policy a second m-line of a
kind shares the first one's transport before BUNDLE is applied, and is then
left on a transport that never connects (aiortc issue #1414), so the second
audio m-line of the last test received nothing. Clients that put several
m-lines of a kind on one connection must use ``max-bundle``, as the SFU
bundles everything anyway (the meeting page does the same).
"""
import asyncio

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from tests.rooms.meetings.test_signalling import attend, setup_meeting


def new_pc() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


async def negotiate(attendee, pc: RTCPeerConnection) -> None:
    attendee.pc = pc
    pc.on("track", lambda track: attendee.tracks.__setitem__(track.kind, track))
    await pc.setLocalDescription(await pc.createOffer())
    await attendee.send({"type": "meeting.offer", "sdp": pc.localDescription.sdp})
    answer = await attendee.next("meeting.answer")
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))


async def decodes_video_and_audio(attendee) -> None:
    for _ in range(50):
        if {"video", "audio"} <= attendee.tracks.keys():
            break
        await asyncio.sleep(0.1)
    video = await asyncio.wait_for(attendee.tracks["video"].recv(), 10)
    audio = await asyncio.wait_for(attendee.tracks["audio"].recv(), 10)
    assert video.width == 640 and audio.sample_rate == 48000


async def two_attendees(client, db):
    host, member, meeting, host_ticket, member_ticket = await setup_meeting(client, db)
    a = await attend(client, host.headers, host_ticket)
    await a.next("meeting.joined")
    b = await attend(client, member.headers, member_ticket)
    await b.next("meeting.joined")
    return a, b


async def close(*attendees) -> None:
    for attendee in attendees:
        if attendee.pc is not None:
            await attendee.pc.close()
        await attendee.ws.close()


async def test_a_recvonly_viewer_who_offers_first_decodes_a_sendonly_publisher(client, db):
    a, b = await two_attendees(client, db)
    try:
        viewer, publisher = new_pc(), new_pc()
        viewer.addTransceiver("video", direction="recvonly")
        viewer.addTransceiver("audio", direction="recvonly")
        await negotiate(b, viewer)
        publisher.addTransceiver(VideoStreamTrack(), direction="sendonly")
        publisher.addTransceiver(AudioStreamTrack(), direction="sendonly")
        await negotiate(a, publisher)
        await decodes_video_and_audio(b)
    finally:
        await close(a, b)


async def test_separate_send_and_receive_m_lines_on_one_connection_carry_media_both_ways(client, db):
    a, b = await two_attendees(client, db)
    try:
        for attendee in (a, b):
            pc = new_pc()
            pc.addTransceiver(VideoStreamTrack(), direction="sendonly")
            pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
            pc.addTransceiver("video", direction="recvonly")
            pc.addTransceiver("audio", direction="recvonly")
            await negotiate(attendee, pc)
        for attendee in (a, b):
            await decodes_video_and_audio(attendee)
    finally:
        await close(a, b)
