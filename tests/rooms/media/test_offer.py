"""Offer checking: a bad offer gets a message naming what is wrong, before any transport exists."""
from pathlib import Path

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, sdp
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from rooms.media.offer import OfferError, build_answer, candidate_address, check_offer, drop_unpairable_candidates, pairable


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


# Chromium 156's offer for audio + camera (sendrecv) and one more video to receive (recvonly), captured from
# the browser with fake devices: 20+ video payload types, RTX/RED/ULPFEC/FlexFEC, FID groups, many extensions.
CHROME_OFFER = (Path(__file__).parent / "chrome_offer.sdp").read_text().replace("\r\n", "\n").replace("\n", "\r\n")


def chrome_answer_text(offer_text: str = CHROME_OFFER, screen_mids=frozenset()):
    from aiortc.rtcdtlstransport import RTCCertificate
    from aiortc.rtcicetransport import RTCIceParameters

    offer = check_offer(offer_text, screen_mids)
    return offer, build_answer(
        offer, ice=RTCIceParameters(usernameFragment="abcd", password="x" * 22), candidates=[],
        fingerprints=RTCCertificate.generateCertificate().getFingerprints(), slot_ssrcs={"0": 10, "1": 11, "2": 12}, cname="c",
    )


def chrome_answer(offer_text: str = CHROME_OFFER, screen_mids=frozenset()):
    offer, text = chrome_answer_text(offer_text, screen_mids)
    return offer, sdp.SessionDescription.parse(text)


def test_chrome_offer_gets_one_codec_per_m_line_at_its_payload_type_and_no_repair_streams():
    offer, answer = chrome_answer()
    assert [(s.mid, s.kind, s.direction, s.codec.payloadType, s.ssrc) for s in offer.sections] == [
        ("0", "audio", "sendrecv", 111, 2306040960), ("1", "video", "sendrecv", 96, 3584190080), ("2", "video", "recvonly", 96, None),
    ]  # the camera's SSRC is the first of its FID group, not its RTX SSRC
    assert [m.fmt for m in answer.media] == [[111], [96], [96]]
    assert [c.mimeType for m in answer.media for c in m.rtp.codecs] == ["audio/opus", "video/VP8", "video/VP8"]
    assert answer.media[0].rtp.codecs[0].parameters == {"minptime": 10, "useinbandfec": 1}
    video_feedback = {(f.type, f.parameter) for f in answer.media[1].rtp.codecs[0].rtcpFeedback}
    assert video_feedback == {("nack", None), ("nack", "pli"), ("ccm", "fir"), ("goog-remb", None)}  # no transport-cc
    assert answer.media[0].rtp.codecs[0].rtcpFeedback == []
    assert [[(h.id, h.uri) for h in m.rtp.headerExtensions] for m in answer.media] == [
        [(1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level")], [], [],
    ]
    assert [m.direction for m in answer.media] == ["sendrecv", "sendrecv", "sendonly"]
    assert answer.group[0].items == ["0", "1", "2"] and all(m.dtls.role == "server" and m.rtcp_mux for m in answer.media)
    assert "a=setup:passive" in str(answer) and "rtx" not in str(answer) and "red/" not in str(answer)


def test_a_stopped_transceiver_port_0_is_answered_with_port_0_and_left_out_of_bundle():
    stopped = CHROME_OFFER.replace("m=video 47501", "m=video 0").replace("a=group:BUNDLE 0 1 2", "a=group:BUNDLE 0 1")
    offer, answer = chrome_answer(stopped)
    assert [s.mid for s in offer.sections] == ["0", "1"]
    assert [m.port for m in answer.media][2] == 0 and answer.group[0].items == ["0", "1"]


@pytest.mark.parametrize("address, local, usable", [
    ("127.0.0.1", ["127.0.0.1"], True),
    ("192.0.2.2", ["127.0.0.1"], False),  # a browser's LAN interface while the SFU is on loopback
    ("::1", ["127.0.0.1"], False),
    ("192.0.2.2", ["198.51.100.7"], True),
    ("127.0.0.1", ["198.51.100.7"], False),
    ("198.51.100.9", [], True),
    ("127.0.0.1", [], False),
    ("4f1c2d.local", ["127.0.0.1"], False),  # mDNS names are not resolved
])
def test_pairable_candidates(address, local, usable):
    assert pairable(address, local) is usable


def test_unpairable_candidate_lines_are_dropped_from_an_offer():
    kept = drop_unpairable_candidates(CHROME_OFFER, ["127.0.0.1"])
    addresses = {candidate_address(line) for line in kept.split("\r\n") if line.startswith("a=candidate:")}
    assert addresses == {"127.0.0.1"} and kept.count("a=candidate:") == 6  # udp and tcp on 3 m-lines
    assert check_offer(kept).candidates and kept.endswith("\r\n")


def many_m_lines(offer_text: str, count: int) -> str:
    """The offer with its last m-section repeated (each copy with its own mid, in the BUNDLE) until it has ``count``."""
    head, _, last = offer_text.rpartition("m=")
    first_new = offer_text.count("\nm=")
    copies = ["m=" + last.replace("a=mid:2\r\n", f"a=mid:{mid}\r\n") for mid in range(first_new, count)]
    mids = " ".join(str(mid) for mid in range(count))
    return head.replace("a=group:BUNDLE 0 1 2", f"a=group:BUNDLE {mids}") + "m=" + last + "".join(copies)


@pytest.mark.parametrize("edit, message", [
    (lambda s: many_m_lines(s, 33), "33 media sections"),
    (lambda s: s + "a=x-padding:" + "x" * 100_000 + "\r\n", "at most 100000"),
])
async def test_an_offer_with_too_many_m_lines_or_too_long_is_refused_before_it_is_parsed(offer_sdp, edit, message, monkeypatch):
    def parse(text):
        raise AssertionError("the offer was parsed")
    monkeypatch.setattr(sdp.SessionDescription, "parse", staticmethod(parse))
    with pytest.raises(OfferError, match=message):
        check_offer(edit(offer_sdp))


async def test_an_offer_with_32_m_lines_is_still_answered(offer_sdp):
    assert [section.mid for section in check_offer(many_m_lines(offer_sdp, 32)).sections] == [str(mid) for mid in range(32)]


async def test_an_offer_that_repeats_a_mid_is_refused(offer_sdp):
    with pytest.raises(OfferError, match="m-line 2 repeats mid 1"):
        check_offer(offer_sdp.replace("a=mid:2\r\n", "a=mid:1\r\n"))


# Chromium 156's offer with the camera sent as three simulcast layers (sendEncodings with RIDs q, h, f, as the meeting
# page publishes it): a=rid/a=simulcast and no a=ssrc on the camera m-line.
CHROME_SIMULCAST_OFFER = (Path(__file__).parent / "chrome_simulcast_offer.sdp").read_text().replace("\r\n", "\n").replace("\n", "\r\n")


def test_a_chromium_simulcast_offer_publishes_one_layer_per_rid_and_the_answer_receives_them():
    offer, text = chrome_answer_text(CHROME_SIMULCAST_OFFER)
    answer = sdp.SessionDescription.parse(text)
    camera = offer.sections[1]
    assert camera.rids == ("q", "h", "f") and camera.ssrc is None and camera.publishes and camera.receives
    assert (camera.mid_id, camera.rid_id) == (4, 10)
    section = text.split("m=video")[1]
    assert "a=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\na=simulcast:recv q;h;f\r\n" in section
    assert [(h.id, h.uri) for h in answer.media[1].rtp.headerExtensions] == [
        (4, "urn:ietf:params:rtp-hdrext:sdes:mid"), (10, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"),
        (11, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"),
    ]
    assert [h.uri for h in answer.media[2].rtp.headerExtensions] == []  # a plain slot: no MID, so no forwarded packet is steered by one
    assert [s.ssrc for s in answer.media[1].ssrc] == [11]  # the camera m-line is still the stage slot
    assert "a=simulcast" not in text.split("m=video")[2]


def simulcast_edit(old: str, new: str):
    return lambda s: s.replace(old, new)


@pytest.mark.parametrize("edit, message", [
    (simulcast_edit("a=simulcast:send q;h;f", "a=simulcast:send q;h;x"), "names rid 'x', which no a=rid:x send line declares"),
    (simulcast_edit("a=rid:h send", "a=rid:q send"), "declares rid 'q' twice"),
    (simulcast_edit("a=simulcast:send q;h;f", "a=simulcast:send q;h;q"), "names a rid twice"),
    (simulcast_edit("a=simulcast:send q;h;f", "a=simulcast:recv q;h;f"), "receives simulcast only, a=simulcast:send"),
    (simulcast_edit("a=rid:q send", "a=rid:q!? send"), "malformed a=rid line"),
    (simulcast_edit("a=rid:q send", "a=rid:q recv"), "names rid 'q', which no a=rid:q send line declares"),
    (simulcast_edit("a=simulcast:send q;h;f\r\n", ""), "RIDs \\(a=rid\\) without a=simulcast"),
    (simulcast_edit("a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n", ""), "without the urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"),
    (simulcast_edit("a=simulcast:send q;h;f", "a=simulcast:send q;h;f;a;b\r\na=rid:a send\r\na=rid:b send"), "5 simulcast layers; at most 4"),
    (simulcast_edit("a=sendrecv\r\na=msid:- 48197e2e", "a=recvonly\r\na=msid:- 48197e2e"), "m-line 1 offers simulcast:send but is recvonly"),
])
def test_a_bad_simulcast_offer_is_refused_with_what_is_wrong(edit, message):
    text = edit(CHROME_SIMULCAST_OFFER)
    assert text != CHROME_SIMULCAST_OFFER
    with pytest.raises(OfferError, match=message):
        check_offer(text)


def test_simulcast_on_audio_is_refused():
    text = CHROME_SIMULCAST_OFFER.replace("a=mid:0\r\n", "a=mid:0\r\na=rid:a send\r\na=simulcast:send a\r\n", 1)
    with pytest.raises(OfferError, match="m-line 0 \\(audio\\) offers simulcast"):
        check_offer(text)
