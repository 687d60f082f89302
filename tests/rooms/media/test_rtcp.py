"""RTCP parsing and building, cross-checked against aiortc's own RTCP implementation."""
import pytest
from aiortc import rtp as aiortc_rtp

from rooms.media import rtcp


def test_parses_a_compound_sender_report_and_sdes_from_aiortc():
    sr = aiortc_rtp.RtcpSrPacket(
        ssrc=1234,
        sender_info=aiortc_rtp.RtcpSenderInfo(ntp_timestamp=(5 << 32) | 7, rtp_timestamp=960, packet_count=10, octet_count=1000),
        reports=[aiortc_rtp.RtcpReceiverInfo(ssrc=99, fraction_lost=12, packets_lost=-3, highest_sequence=70000, jitter=5, lsr=6, dlsr=7)],
    )
    sdes = aiortc_rtp.RtcpSdesPacket(chunks=[aiortc_rtp.RtcpSourceInfo(ssrc=1234, items=[(1, b"cname")])])
    packets = rtcp.parse_compound(bytes(sr) + bytes(sdes))
    assert packets[0] == rtcp.SenderReport(1234, (5 << 32) | 7, 960, 10, 1000, [rtcp.ReportBlock(99, 12, -3, 70000, 5, 6, 7)])
    assert isinstance(packets[1], rtcp.OtherRtcp) and packets[1].packet_type == rtcp.SDES


def test_parses_receiver_report_generic_nack_and_pli_from_aiortc():
    rr = aiortc_rtp.RtcpRrPacket(ssrc=5, reports=[aiortc_rtp.RtcpReceiverInfo(ssrc=6, fraction_lost=0, packets_lost=4, highest_sequence=9, jitter=1, lsr=0, dlsr=0)])
    nack = aiortc_rtp.RtcpRtpfbPacket(fmt=1, ssrc=5, media_ssrc=6, lost=[3, 4, 8, 40])
    pli = aiortc_rtp.RtcpPsfbPacket(fmt=1, ssrc=5, media_ssrc=6)
    packets = rtcp.parse_compound(bytes(rr) + bytes(nack) + bytes(pli))
    assert packets[0] == rtcp.ReceiverReport(5, [rtcp.ReportBlock(6, 0, 4, 9, 1, 0, 0)])
    assert packets[1] == rtcp.Nack(5, 6, [3, 4, 8, 40])
    assert packets[2] == rtcp.Pli(5, 6)


def test_built_nack_pli_rr_and_sr_are_read_back_by_aiortc():
    data = (
        rtcp.Nack(1, 2, [10, 11, 26, 27, 40]).pack()
        + rtcp.Pli(1, 2).pack()
        + rtcp.ReceiverReport(1, [rtcp.ReportBlock(2, 3, -1, 100, 4, 5, 6)]).pack()
        + rtcp.SenderReport(1, 1 << 40, 3, 4, 5).pack()
    )
    nack, pli, rr, sr = aiortc_rtp.RtcpPacket.parse(data)
    assert sorted(nack.lost) == [10, 11, 26, 27, 40] and nack.media_ssrc == 2
    assert isinstance(pli, aiortc_rtp.RtcpPsfbPacket) and pli.fmt == 1 and pli.media_ssrc == 2
    assert rr.reports[0].packets_lost == -1 and rr.reports[0].highest_sequence == 100
    assert sr.sender_info.ntp_timestamp == 1 << 40


def test_remb_round_trips_with_aiortc_fci():
    fci = aiortc_rtp.pack_remb_fci(1_500_000, [11, 12])
    aiortc_remb = aiortc_rtp.RtcpPsfbPacket(fmt=15, ssrc=3, media_ssrc=0, fci=fci)
    (remb,) = rtcp.parse_compound(bytes(aiortc_remb))
    assert remb.ssrcs == [11, 12] and abs(remb.bitrate - 1_500_000) / 1_500_000 < 0.001
    (back,) = aiortc_rtp.RtcpPacket.parse(rtcp.Remb(3, 2_000_000, [7]).pack())
    bitrate, ssrcs = aiortc_rtp.unpack_remb_fci(back.fci)
    assert ssrcs == [7] and abs(bitrate - 2_000_000) / 2_000_000 < 0.001


def test_fir_entries_round_trip():
    (fir,) = rtcp.parse_compound(rtcp.Fir(9, [(100, 3), (200, 4)]).pack())
    assert fir == rtcp.Fir(9, [(100, 3), (200, 4)])


@pytest.mark.parametrize("data, message", [
    (b"\x81\xc9", "too short"),
    (bytes.fromhex("01c90001" "00000005"), "version 0"),
    (bytes.fromhex("81c90007" "00000005"), "only 8 left"),
    (bytes.fromhex("81c90001" "00000005"), "report blocks"),
    (bytes.fromhex("81cd0001" "00000005"), "shorter than its 8-byte header"),
    (bytes.fromhex("81cd0002" "00000005" "00000006"), "NACK has an empty"),
    (bytes.fromhex("84ce0002" "00000005" "00000000"), "FIR has an empty"),
    (bytes.fromhex("a1c90001" "00000009"), "padding"),
])
def test_rejects_malformed_rtcp_with_a_message_naming_the_part(data, message):
    with pytest.raises(rtcp.RtcpError, match=message):
        rtcp.parse_compound(data)


def test_nack_lists_wrap_around_the_sequence_space():
    (nack,) = rtcp.parse_compound(rtcp.Nack(1, 2, [65534, 65535, 0, 3]).pack())
    assert sorted(nack.lost) == [0, 3, 65534, 65535]
    assert len(rtcp.Nack(1, 2, [65534, 65535, 0, 3]).pack()) == 16  # one FCI entry covers the wrap
