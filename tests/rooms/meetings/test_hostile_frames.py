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
