"""Offer checking: a bad offer gets a message naming what is wrong, before any transport exists."""
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, sdp
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from rooms.media.offer import OfferError, build_answer, check_offer


@pytest.fixture
async def offer_sdp():
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver(VideoStreamTrack(), direction="sendonly")
    pc.addTransceiver(AudioStreamTrack(), direction="sendrecv")
    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    yield pc.localDescription.sdp
    await pc.close()


def without(text: str, prefix: str) -> str:
    return "".join(line + "\r\n" for line in text.splitlines() if not line.startswith(prefix))


async def test_accepts_an_aiortc_offer_and_classifies_its_m_lines(offer_sdp):
    offer = check_offer(offer_sdp, screen_mids={"2"})
    assert [(s.mid, s.kind, s.publishes, s.receives, s.screen) for s in offer.sections] == [
        ("0", "video", True, False, False), ("1", "audio", True, True, False), ("2", "video", False, True, True),
    ]
    assert offer.sections[0].codec.mimeType == "video/VP8" and offer.sections[1].audio_level_id == 2


@pytest.mark.parametrize("edit, message", [
    (lambda s: "", "empty"),
    (lambda s: "v=0\r\nthis is not sdp\r\n", "no m-lines"),
    (lambda s: s.replace("a=rtpmap:", "a=rtpmap:x"), "not valid SDP"),
    (lambda s: without(s, "a=fingerprint"), "no DTLS fingerprint"),
    (lambda s: without(s, "a=ice-pwd"), "no ICE credentials"),
    (lambda s: without(s, "a=group:BUNDLE"), "not in the BUNDLE group"),
    (lambda s: without(s, "a=ssrc"), "declares no a=ssrc"),
    (lambda s: without(s, "a=rtcp-mux"), "rtcp-mux"),
    (lambda s: s.replace("VP8/90000", "VP7/90000"), "offers no VP8"),
])
async def test_rejects_bad_offers_with_a_clear_message(offer_sdp, edit, message):
    with pytest.raises(OfferError, match=message):
        check_offer(edit(offer_sdp))


async def test_answer_mirrors_directions_and_announces_slot_ssrcs(offer_sdp):
    from aiortc.rtcdtlstransport import RTCCertificate
    from aiortc.rtcicetransport import RTCIceParameters

    offer = check_offer(offer_sdp)
    text = build_answer(
        offer, ice=RTCIceParameters(usernameFragment="abcd", password="x" * 22), candidates=[],
        fingerprints=RTCCertificate.generateCertificate().getFingerprints(), slot_ssrcs={"1": 111, "2": 222}, cname="c",
    )
    answer = sdp.SessionDescription.parse(text)
    assert [m.direction for m in answer.media] == ["recvonly", "sendrecv", "sendonly"]
    assert [[s.ssrc for s in m.ssrc] for m in answer.media] == [[], [111], [222]]
    assert [c.mimeType for m in answer.media for c in m.rtp.codecs] == ["video/VP8", "audio/opus", "video/VP8"]
    assert [h.uri for h in answer.media[1].rtp.headerExtensions] == ["urn:ietf:params:rtp-hdrext:ssrc-audio-level"]
    assert answer.group[0].items == ["0", "1", "2"] and answer.media[0].dtls.role == "server"
