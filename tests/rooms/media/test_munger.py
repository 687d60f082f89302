"""Per-slot sequence/timestamp rewriting: a source switch looks like one continuous stream."""
from rooms.media.munger import SlotMunger, seq_delta


def test_first_source_keeps_its_spacing_from_the_initial_numbers():
    m = SlotMunger(48000, initial_seq=100, initial_ts=5000)
    assert m.munge(0xA, 40000, 123456, now=0.0) == (100, 5000)
    assert m.munge(0xA, 40001, 124416, now=0.02) == (101, 5960)


def test_switching_source_continues_sequence_and_advances_timestamp_by_elapsed_time():
    m = SlotMunger(48000)
    for i in range(3):
        m.munge(0xA, 1000 + i, 960 * i, now=0.02 * i)
    out_seq, out_ts = m.munge(0xB, 60000, 777777, now=0.04 + 0.5)
    assert out_seq == 3  # seamless: no gap for the receiver to NACK
    assert out_ts == 960 * 2 + 24000  # 0.5 s later at 48 kHz
    assert m.munge(0xB, 60001, 777777 + 960, now=0.56) == (4, 960 * 2 + 24000 + 960)


def test_sequence_wraps_and_reordering_within_a_source_is_preserved():
    m = SlotMunger(90000, initial_seq=65534)
    assert m.munge(1, 10, 0, now=0)[0] == 65534
    assert m.munge(1, 12, 0, now=0)[0] == 0
    assert m.munge(1, 11, 0, now=0)[0] == 65535  # late packet keeps its place


def test_late_packet_of_a_previous_segment_is_dropped_after_a_switch():
    m = SlotMunger(90000)
    m.munge(1, 500, 0, now=0)
    m.munge(2, 10, 0, now=0.1)
    assert m.munge(2, 9, 0, now=0.1) is None


def test_maps_outgoing_sequence_back_to_source_for_nacks_within_the_current_segment():
    m = SlotMunger(90000)
    for seq in range(100, 110):
        m.munge(1, seq, 0, now=0)
    m.munge(2, 7000, 0, now=0.1)  # out 10
    m.munge(2, 7001, 0, now=0.1)  # out 11
    assert m.source_sequence(11) == 7001
    assert m.source_sequence(5) is None  # belongs to the previous source
    assert m.source_sequence(12) is None  # not sent yet


def test_seq_delta_is_signed_and_wraps():
    assert seq_delta(1, 65535) == 2 and seq_delta(65535, 1) == -2
