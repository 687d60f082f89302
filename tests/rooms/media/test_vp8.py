"""VP8 keyframe detection from the payload descriptor, on descriptors as Chrome and aiortc write them."""
from rooms.media.vp8 import is_keyframe_start


def test_keyframe_start_with_a_15_bit_picture_id():
    # X=1 S=1 PID=0 | I=1 | M=1 picture id 0x1234 | VP8 header 0x10 (P=0: keyframe)
    assert is_keyframe_start(bytes.fromhex("90" "80" "9234" "10 02 00 9d 01 2a".replace(" ", "")))


def test_delta_frame_and_continuation_packets_are_not_keyframe_starts():
    assert not is_keyframe_start(bytes.fromhex("90" "80" "9234" "31"))  # P=1: interframe
    assert not is_keyframe_start(bytes.fromhex("80" "80" "9234" "10"))  # S=0: middle of a frame
    assert not is_keyframe_start(bytes.fromhex("11" "10"))  # partition 1, not 0


def test_optional_fields_are_skipped_before_the_payload_header():
    # X=1 S=1 | I L T K all set | 7-bit picture id | TL0PICIDX | TID/KEYIDX | payload header P=0
    assert is_keyframe_start(bytes.fromhex("90" "f0" "05" "07" "40" "10"))
    assert not is_keyframe_start(bytes.fromhex("90" "f0" "05" "07" "40"))  # truncated
    assert not is_keyframe_start(b"")
