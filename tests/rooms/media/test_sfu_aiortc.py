"""Real aiortc peers through the SFU: frames decode at the subscriber, the server never touches a codec."""
import asyncio
import traceback
from pathlib import Path

import aiortc.rtcrtpreceiver
import aiortc.rtcrtpsender
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription, sdp
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from aiortc.rtp import RtcpPsfbPacket

from rooms.media.router import LocalRouter

ROOMS = str(Path(__file__).resolve().parents[3] / "rooms")


@pytest.fixture
def codec_calls(monkeypatch):
    """Every decoder/encoder aiortc creates, with whether code under rooms/ was on the stack."""
    calls = []

    def spy(name, real):
        def wrapper(*args, **kwargs):
            calls.append((name, any(frame.filename.startswith(ROOMS) for frame in traceback.extract_stack())))
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(aiortc.rtcrtpreceiver, "get_decoder", spy("decoder", aiortc.rtcrtpreceiver.get_decoder))
    monkeypatch.setattr(aiortc.rtcrtpsender, "get_encoder", spy("encoder", aiortc.rtcrtpsender.get_encoder))
    return calls


async def connect(participant, pc: RTCPeerConnection, screen_mids=()) -> None:
    await pc.setLocalDescription(await pc.createOffer())
    answer = await participant.handle_offer(pc.localDescription.sdp, screen_mids)
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))


def slot_ssrc(pc: RTCPeerConnection, index: int) -> int:
    """The SSRC the SFU announced for the client's m-line ``index`` (its slot)."""
    return sdp.SessionDescription.parse(pc.remoteDescription.sdp).media[index].ssrc[0].ssrc


def new_pc() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


async def test_subscriber_decodes_publisher_video_and_audio_forwarded_without_server_codecs(codec_calls):
    router = await LocalRouter.start()
    room = router.room("r1")
    publisher, subscriber = new_pc(), new_pc()
    try:
        publisher.addTransceiver(VideoStreamTrack(), direction="sendonly")
        publisher.addTransceiver(AudioStreamTrack(), direction="sendonly")
        await connect(await room.add_participant("pub"), publisher)

        subscriber.addTransceiver("video", direction="recvonly")
        subscriber.addTransceiver("audio", direction="recvonly")
        tracks = {}
        subscriber.on("track", lambda track: tracks.__setitem__(track.kind, track))
        await connect(await room.add_participant("sub"), subscriber)

        video = await asyncio.wait_for(tracks["video"].recv(), 10)
        for _ in range(3):
            video = await asyncio.wait_for(tracks["video"].recv(), 5)
        audio = await asyncio.wait_for(tracks["audio"].recv(), 5)
        assert (video.width, video.height) == (640, 480)
        assert audio.sample_rate == 48000
        assert router.workers[0].forwarder.forwarded > 10
        assert [c for c in codec_calls if c[1]] == []  # no codec was created from rooms/ code
        assert {name for name, _ in codec_calls} == {"decoder", "encoder"}  # the spy works: the clients made theirs
    finally:
        await subscriber.close()
        await publisher.close()
        await router.close()


async def test_keyframe_requests_from_subscribers_reach_the_publisher_throttled():
    router = await LocalRouter.start()
    room = router.room("r1")
    publisher = new_pc()
    subscribers = [new_pc() for _ in range(3)]
    try:
        sender = publisher.addTransceiver(VideoStreamTrack(), direction="sendonly").sender
        plis = []
        real = sender._handle_rtcp_packet

        async def on_rtcp(packet):
            if isinstance(packet, RtcpPsfbPacket) and packet.fmt == 1:
                plis.append(asyncio.get_running_loop().time())
            await real(packet)

        sender._handle_rtcp_packet = on_rtcp
        await connect(await room.add_participant("pub"), publisher)
        received = []
        for i, pc in enumerate(subscribers):
            pc.addTransceiver("video", direction="recvonly")
            pc.on("track", received.append)
            await connect(await room.add_participant(f"sub{i}"), pc)
        await asyncio.wait_for(received[0].recv(), 10)
        plis.clear()
        start = asyncio.get_running_loop().time()
        for pc in subscribers:  # each subscriber asks 10 times within ~1.5 s
            receiver = pc.getTransceivers()[0].receiver
            for _ in range(10):
                await receiver._send_rtcp_pli(slot_ssrc(pc, 0))
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        elapsed = asyncio.get_running_loop().time() - start
        assert 1 <= len(plis) <= int(elapsed) + 1, plis
    finally:
        for pc in subscribers:
            await pc.close()
        await publisher.close()
        await router.close()


async def test_a_packet_lost_on_the_way_to_the_subscriber_is_recovered_by_its_nack():
    router = await LocalRouter.start()
    room = router.room("r1")
    publisher, subscriber = new_pc(), new_pc()
    try:
        publisher.addTransceiver(VideoStreamTrack(), direction="sendonly")
        await connect(await room.add_participant("pub"), publisher)
        receiver = subscriber.addTransceiver("video", direction="recvonly").receiver
        seqs = []
        real = receiver._handle_rtp_packet

        async def on_rtp(packet, arrival_time_ms):
            seqs.append(packet.sequence_number)
            await real(packet, arrival_time_ms)

        receiver._handle_rtp_packet = on_rtp
        await subscriber.setLocalDescription(await subscriber.createOffer())
        connection = receiver.transport.transport._connection
        srtp_datagrams = 0
        deliver = connection.data_received

        def lossy(data, component):  # the network loses the 20th RTP datagram
            nonlocal srtp_datagrams
            if 127 < data[0] < 192 and not 192 <= data[1] <= 223:
                srtp_datagrams += 1
                if srtp_datagrams == 20:
                    return
            deliver(data, component)

        connection.data_received = lossy
        participant = await room.add_participant("sub")
        answer = await participant.handle_offer(subscriber.localDescription.sdp)
        await subscriber.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        for _ in range(50):
            if srtp_datagrams > 40:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)
        first, last = seqs[0], seqs[-1]
        assert srtp_datagrams > 20
        assert sorted(set(seqs)) == list(range(first, last + 1))  # the lost one arrived later
        assert router.workers[0].forwarder.retransmitted >= 1
    finally:
        await subscriber.close()
        await publisher.close()
        await router.close()
