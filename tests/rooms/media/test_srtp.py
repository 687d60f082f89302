"""The direct libsrtp binding agrees with pylibsrtp's own methods."""
import os

import pylibsrtp
import pytest

from rooms.media import rtp, srtp


def sessions():
    key = os.urandom(30)
    tx = pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    rx = pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND)
    return pylibsrtp.Session(tx), pylibsrtp.Session(rx)


def test_protected_by_the_binding_unprotects_with_pylibsrtp_and_back():
    tx, rx = sessions()
    protect, _, protect_rtcp, _ = srtp.bind(tx)
    packet = rtp.build_packet(payload_type=111, sequence=1, timestamp=960, ssrc=5, payload=b"opus" * 20)
    assert rx.unprotect(protect(packet)) == packet
    report = bytes.fromhex("80c90001" "00000005")
    assert rx.unprotect_rtcp(protect_rtcp(report)) == report

    tx2, rx2 = sessions()
    _, unprotect, _, unprotect_rtcp = srtp.bind(rx2)
    assert unprotect(tx2.protect(packet)) == packet
    assert unprotect_rtcp(tx2.protect_rtcp(report)) == report


def test_a_tampered_packet_raises_pylibsrtp_error():
    tx, rx = sessions()
    _, unprotect, _, _ = srtp.bind(rx)
    protected = bytearray(tx.protect(rtp.build_packet(payload_type=111, sequence=1, timestamp=0, ssrc=5, payload=b"x" * 40)))
    protected[20] ^= 1
    with pytest.raises(pylibsrtp.Error, match="auth"):
        unprotect(bytes(protected))
