"""Last-N video with the speaker on stage, pins and screen shares."""
from rooms.media.lastn import ScreenShares, SpeakingOrder, select_video


def order_of(*sources):
    order = SpeakingOrder()
    for s in sources:
        order.add(s)
    return order


def test_receiver_gets_the_first_n_others_in_speaking_order():
    order = order_of(*"abcdefghijkl")
    order.promote("k")
    assert select_video(order, "a", 4) == ["k", "b", "c", "d"]


def test_pinned_participant_takes_the_stage_even_if_not_speaking():
    order = order_of(*"abcdef")
    order.promote("c")
    assert select_video(order, "a", 3, pinned="f") == ["f", "c", "b"]
    assert select_video(order, "a", 3, pinned="zz") == ["c", "b", "d"]  # pin of someone without video is ignored
    assert select_video(order, "f", 3, pinned="f") == ["c", "a", "b"]


def test_screen_share_goes_to_everyone_but_the_sharer_and_the_latest_wins():
    shares = ScreenShares()
    shares.start("a-screen")
    shares.start("b-screen")
    assert shares.current() == "b-screen"
    assert shares.for_receiver({"b-screen", "b-cam"}) == "a-screen"
    assert shares.for_receiver({"c-cam"}) == "b-screen"
    shares.stop("b-screen")
    assert shares.current() == "a-screen"
