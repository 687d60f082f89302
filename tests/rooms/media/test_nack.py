"""Retransmission cache and keyframe request throttle."""
import pytest

from rooms.media.keyframe import KeyframeRequestThrottle
from rooms.media.nack import RetransmissionCache


def test_returns_the_stored_packet_for_its_sequence_number():
    cache = RetransmissionCache(16)
    for seq in range(10):
        cache.store(seq, b"p%d" % seq)
    assert cache.get(3) == b"p3" and cache.get(12) is None


def test_an_overwritten_entry_is_never_returned_for_the_older_number():
    cache = RetransmissionCache(16)
    cache.store(1, b"old")
    cache.store(17, b"new")
    assert cache.get(1) is None and cache.get(17) == b"new"


def test_size_must_be_a_power_of_two():
    with pytest.raises(ValueError):
        RetransmissionCache(100)


def test_keyframe_requests_pass_at_most_once_per_interval():
    throttle = KeyframeRequestThrottle(1.0)
    assert [throttle.allow(t) for t in (0.0, 0.3, 0.99, 1.0, 1.5, 2.1)] == [True, False, False, True, False, True]
