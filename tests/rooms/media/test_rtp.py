"""RTP parsing and in-place rewriting, on bytes produced by aiortc and by hand."""
import pytest
from aiortc import rtp as aiortc_rtp
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters

from rooms.media import rtp

# An Opus packet as Chrome sends it: one-byte extensions ssrc-audio-level (id 1, voice, -42 dBov)
# and transport-cc (id 3), marker set, PT 111.
CHROME_OPUS = bytes.fromhex(
    "90ef1234" "0001e240" "deadbeef"  # V=2 X=1, M=1 PT=111, seq 0x1234, ts 123456, ssrc
    "bede0002" "10aa" "3100" "2a" "000000"  # 2 words: audio level 0xaa, tcc 0x002a? (len 2), padding
    "fcff fe".replace(" ", "")
)


def aiortc_packet(**ext) -> bytes:
    ext_map = aiortc_rtp.HeaderExtensionsMap()
    ext_map.configure(RTCRtpParameters(headerExtensions=[
        RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
        RTCRtpHeaderExtensionParameters(id=4, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
    ]))
    packet = aiortc_rtp.RtpPacket(payload_type=111, sequence_number=65535, timestamp=4294967000, ssrc=0x01020304, marker=1)
    packet.payload = b"\x01\x02\x03\x04\x05"
    for name, value in ext.items():
        setattr(packet.extensions, name, value)
    return packet.serialize(ext_map)


def test_parses_fixed_header_and_payload_bounds_of_an_aiortc_packet():
    data = aiortc_packet()
    header = rtp.parse_header(data)
    assert (header.payload_type, header.sequence, header.timestamp, header.ssrc, header.marker) == (111, 65535, 4294967000, 0x01020304, True)
    assert data[header.payload_start : header.payload_end] == b"\x01\x02\x03\x04\x05"
    assert header.extension_profile == 0


def test_reads_rfc6464_audio_level_written_by_aiortc():
    data = aiortc_packet(audio_level=(True, 42), mid="0")
    header = rtp.parse_header(data)
    assert header.extension_profile == rtp.ONE_BYTE_PROFILE
    assert rtp.audio_level(data, header, 1) == (True, 42)
    assert rtp.find_extension(data, header, 4) is not None
    assert rtp.audio_level(data, header, 7) is None
    assert data[header.payload_start:] == b"\x01\x02\x03\x04\x05"


def test_parses_chrome_style_one_byte_extensions_with_padding():
    header = rtp.parse_header(CHROME_OPUS)
    assert header.sequence == 0x1234 and header.payload_type == 111 and header.marker
    assert [(i, n) for i, _, n in rtp.iter_extensions(CHROME_OPUS, header)] == [(1, 1), (3, 2)]
    assert rtp.audio_level(CHROME_OPUS, header, 1) == (True, 0x2A)
    assert CHROME_OPUS[header.payload_start:] == b"\xfc\xff\xfe"


def test_parses_two_byte_extensions():
    # profile 0x1000, id 5 length 3, id 6 length 0, pad to 8 bytes
    data = bytes.fromhex("90600001" "00000001" "00000002" "10000002" "0503aabbcc" "0600" "00" "99")
    header = rtp.parse_header(data)
    assert list(rtp.iter_extensions(data, header)) == [(5, 18, 3), (6, 23, 0)]
    assert data[header.payload_start:] == b"\x99"


@pytest.mark.parametrize("data, message", [
    (b"\x80\x60\x00", "too short"),
    (bytes.fromhex("40600001000000010000000200"), "version 1"),
    (bytes.fromhex("83600001000000010000000200"), "CSRC"),
    (bytes.fromhex("90600001000000010000000200"), "extension header"),
    (bytes.fromhex("906000010000000100000002bede0005"), "extension runs past"),
    (bytes.fromhex("a06000010000000100000002ff"), "padding"),
])
def test_rejects_malformed_packets_with_a_message_naming_the_part(data, message):
    with pytest.raises(rtp.RtpError, match=message):
        rtp.parse_header(data)


def test_rejects_an_extension_element_longer_than_its_block():
    data = bytes.fromhex("90600001" "00000001" "00000002" "bede0001" "1f000000")
    header = rtp.parse_header(data)
    with pytest.raises(rtp.RtpError, match="extension 1 runs past"):
        list(rtp.iter_extensions(data, header))


def test_rewrites_ssrc_sequence_timestamp_and_payload_type_in_place_and_aiortc_reads_them():
    buf = bytearray(aiortc_packet(audio_level=(False, 30)))
    header = rtp.parse_header(buf)
    rtp.rewrite_header(buf, 96, False, 7, 99, 0xCAFEBABE)
    parsed = aiortc_rtp.RtpPacket.parse(bytes(buf))
    assert (parsed.payload_type, parsed.marker, parsed.sequence_number, parsed.timestamp, parsed.ssrc) == (96, 0, 7, 99, 0xCAFEBABE)
    assert parsed.payload == b"\x01\x02\x03\x04\x05"
    assert rtp.audio_level(buf, header, 1) == (False, 30)


def test_remaps_extension_ids_and_blanks_the_ones_the_subscriber_did_not_negotiate():
    buf = bytearray(aiortc_packet(audio_level=(True, 10), mid="abc"))
    header = rtp.parse_header(buf)
    rtp.remap_extension_ids(buf, header, {1: 9})
    header = rtp.parse_header(buf)
    assert [i for i, _, _ in rtp.iter_extensions(buf, header)] == [9]
    assert rtp.audio_level(buf, header, 9) == (True, 10)
    assert buf[header.payload_start:] == b"\x01\x02\x03\x04\x05"


def test_build_packet_round_trips_through_aiortc():
    data = rtp.build_packet(payload_type=111, sequence=5, timestamp=960, ssrc=77, payload=b"xyz", extensions=[(1, b"\x85")])
    ext_map = aiortc_rtp.HeaderExtensionsMap()
    ext_map.configure(RTCRtpParameters(headerExtensions=[RTCRtpHeaderExtensionParameters(id=1, uri=rtp.AUDIO_LEVEL_URI)]))
    parsed = aiortc_rtp.RtpPacket.parse(data, ext_map)
    assert parsed.extensions.audio_level == (True, 5) and parsed.payload == b"xyz" and parsed.sequence_number == 5


def test_tells_rtcp_from_rtp_by_the_second_byte():
    assert rtp.is_rtcp(bytes([0x81, 200, 0, 1]))
    assert not rtp.is_rtcp(bytes([0x80, 111, 0, 1]))
