"""Active speakers from audio levels: top-N with smoothing and hysteresis."""
from rooms.media.speakers import ActiveSpeakers


def feed(speakers, levels: dict, start: float, seconds: float):
    t = start
    while t < start + seconds:
        for source, level in levels.items():
            speakers.observe(source, level, t)
        t += 0.02
    speakers.tick(t)
    return t


def test_selects_the_loudest_and_each_receiver_gets_three_others():
    s = ActiveSpeakers(top_n=3)
    feed(s, {"a": 20, "b": 30, "c": 40, "d": 50, "e": 127, "f": 127}, 0, 1.0)
    assert s.selected == ["a", "b", "c", "d"]
    assert s.loudest_for("a") == ["b", "c", "d"]
    assert s.loudest_for("e") == ["a", "b", "c"]
    assert s.dominant == "a"


def test_a_slightly_louder_newcomer_does_not_displace_a_selected_speaker():
    s = ActiveSpeakers(top_n=1, margin=6)
    t = feed(s, {"a": 30, "b": 35}, 0, 1.0)
    t = feed(s, {"a": 30, "b": 35, "c": 32}, t, 1.0)  # c is 3 dB louder than b, less than the margin
    assert set(s.selected) == {"a", "b"}
    feed(s, {"a": 30, "b": 35, "c": 10}, t, 1.0)
    assert "c" in s.selected and "b" not in s.selected


def test_dominant_speaker_changes_only_after_the_hold_time():
    s = ActiveSpeakers(hold=0.5)
    t = feed(s, {"a": 20, "b": 90}, 0, 1.0)
    assert s.dominant == "a"
    changed = []
    for _ in range(40):  # b starts talking loudly, a goes quiet
        s.observe("a", 100, t)
        s.observe("b", 10, t)
        t += 0.02
        if s.tick(t):
            changed.append((s.dominant, t))
    (who, when), = changed
    assert who == "b" and when > 1.0 + 0.5


def test_a_source_that_stops_sending_falls_silent_and_can_be_removed():
    s = ActiveSpeakers(top_n=1, timeout=0.5)
    feed(s, {"a": 10}, 0, 0.5)
    assert s.loudness("a", 0.5) > 0 and s.loudness("a", 2.0) == 0
    s.remove("a")
    assert s.selected == [] and s.dominant is None
