"""A client's RTCP (component 2) candidates are left out: RTCP is muxed, and aioice would refuse every check from an
address such a candidate shares with the client's RTP candidate."""
from aiortc.sdp import candidate_from_sdp

from rooms.media.transport import _ours


def test_only_the_rtp_components_candidates_reach_ice():
    rtp = candidate_from_sdp("1 1 udp 2122260223 127.0.0.1 50000 typ host")
    rtcp = candidate_from_sdp("1 2 udp 2122260222 127.0.0.1 50000 typ host")
    assert [c.component for c in filter(_ours, [rtp, rtcp])] == [1]
