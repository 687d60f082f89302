"""A WHIP publisher and an SFU viewer made of aiortc peers, for the live tests."""
from __future__ import annotations

import asyncio

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from rooms.keys import LIVE_MEETINGS
from rooms.live.ingest import media_room


def new_pc() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


async def publisher_offer(video=True, audio=True) -> RTCPeerConnection:
    """A sendonly camera and microphone, the offer set locally (candidates gathered into it, as OBS sends it)."""
    pc = new_pc()
    if video:
        pc.addTransceiver(VideoStreamTrack(), direction="sendonly")
    if audio:
        pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc


async def whip_post(client, stream: dict, key: str | None, sdp: str, content_type: str = "application/sdp"):
    headers = {"Content-Type": content_type}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return await client.post(f"/whip/{stream['id']}", data=sdp.encode(), headers=headers)


async def publish(client, stream: dict, key: str) -> tuple[RTCPeerConnection, str, str]:
    """Publish over WHIP and wait until connected; returns the peer, the session's Location and its ETag."""
    pc = await publisher_offer()
    resp = await whip_post(client, stream, key, pc.localDescription.sdp)
    assert resp.status == 201, await resp.text()
    assert resp.content_type == "application/sdp"
    await pc.setRemoteDescription(RTCSessionDescription(await resp.text(), "answer"))
    for _ in range(100):
        if pc.connectionState == "connected":
            break
        await asyncio.sleep(0.1)
    assert pc.connectionState == "connected"
    return pc, resp.headers["Location"], resp.headers["ETag"]


async def viewer_offer() -> tuple[RTCPeerConnection, dict]:
    """A recvonly video and audio offer, set locally; the dict gets the tracks by kind as they come."""
    pc = new_pc()
    tracks: dict = {}
    pc.on("track", lambda track: tracks.__setitem__(track.kind, track))
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, tracks


async def close_all(*peers) -> None:
    for peer in peers:
        if peer is not None:
            await peer.close()


async def watch_in_sfu(app, stream_id: int, name: str = "viewer"):
    """A viewer joined straight to the stream's SFU room (without WHEP); returns the peer, the first video
    frame it decodes, and the participant (to leave)."""
    room = app[LIVE_MEETINGS].router.room(media_room(stream_id))
    viewer = await room.add_participant(name)
    pc, tracks = await viewer_offer()
    await pc.setRemoteDescription(RTCSessionDescription(await viewer.handle_offer(pc.localDescription.sdp), "answer"))
    for _ in range(50):
        if "video" in tracks:
            break
        await asyncio.sleep(0.1)
    frame = await asyncio.wait_for(tracks["video"].recv(), 15)
    return pc, frame, viewer
