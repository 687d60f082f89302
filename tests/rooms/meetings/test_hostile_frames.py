"""Meeting frames the fuzzer (tests/server/gateway/test_frame_fuzz.py) found crashing, each now an error for its sender only."""
from tests.rooms.meetings.test_signalling import attend, close_all, setup_meeting


async def test_an_ice_candidate_before_any_offer_is_an_error_for_the_sender_not_a_crash(client, db):
    host, member, meeting, host_ticket, member_ticket = await setup_meeting(client, db)
    a = await attend(client, host.headers, host_ticket)
    await a.next("meeting.joined")
    for candidate in (None, "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host"):
        await a.send({"type": "meeting.ice", "candidate": candidate, "ref": 1})
        error = await a.next("error")
        assert error["error"]["code"] == "invalid" and "meeting.offer" in error["error"]["message"], error
    await close_all(a)


async def test_a_chat_line_with_an_unpaired_surrogate_is_refused_and_the_others_keep_reading(client, db):
    host, member, meeting, host_ticket, member_ticket = await setup_meeting(client, db)
    a = await attend(client, host.headers, host_ticket)
    await a.next("meeting.joined")
    b = await attend(client, member.headers, member_ticket)
    await b.next("meeting.joined")
    await b.ws.send_str('{"type":"meeting.chat","text":"broken \\ud800 line"}')
    assert (await b.next("error"))["error"]["code"] == "invalid"
    await b.send({"type": "meeting.chat", "text": "fine"})
    assert (await a.next("meeting.chat"))["text"] == "fine"
    await close_all(a, b)


async def test_tile_sizes_that_are_not_mids_with_two_pixel_counts_are_refused_and_good_ones_reach_the_sfu(in_process_media, client, db):
    from rooms.keys import LIVE_MEETINGS

    host, member, meeting, host_ticket, member_ticket = await setup_meeting(client, db)
    a = await attend(client, host.headers, host_ticket)
    await a.next("meeting.joined")
    for tiles in (None, [], {"0": [1, 2, 3]}, {"0": [-1, 5]}, {"0": [1.5, 5]}, {"0": [100, 100_000]}, {"x" * 40: [1, 1]},
                  {str(n): [1, 1] for n in range(40)}, {"0": [True, 5]}):
        await a.send({"type": "meeting.tiles", "tiles": tiles, "ref": 2})
        error = await a.next("error")
        assert error["error"]["code"] == "invalid" and "meeting.tiles needs 'tiles'" in error["error"]["message"], (tiles, error)
    await a.publish_and_subscribe()
    await a.send({"type": "meeting.tiles", "tiles": {"0": [320, 180]}, "ref": 3})
    await a.send({"type": "ping"})
    await a.next("pong")
    peers = [p for w in client.app[LIVE_MEETINGS].router.workers for r in w.rooms for p in r.peers.values()]
    assert [p.tiles for p in peers] == [{"0": (320, 180)}]
    assert not [f for f in a.frames if f["type"] == "error"]
    await close_all(a)
