"""What meeting frames cost their sender: one person's flood of chat reaches the others only as far as their budget goes."""

import pytest

from tests.rooms.meetings.test_signalling import attend, close_all, setup_meeting


@pytest.fixture
def settings(settings):
    """The default budget (200 tokens) refilling slowly, so that what passes can be counted."""
    settings.ws_frame_rate = settings.ws_user_frame_rate = 0.1
    return settings


async def test_a_chat_flood_reaches_the_others_only_as_far_as_the_senders_budget_goes(client, db):
    host, member, meeting, host_ticket, member_ticket = await setup_meeting(client, db)
    a = await attend(client, host.headers, host_ticket)
    await a.next("meeting.joined")
    b = await attend(client, member.headers, member_ticket)
    await b.next("meeting.joined")  # join took 10 of the member's 200 tokens; a chat takes 20
    for n in range(30):
        await b.send({"type": "meeting.chat", "text": f"spam {n}", "ref": n})
    refusals = [await b.next("error") for _ in range(21)]
    assert {e["error"]["code"] for e in refusals} == {"rate_limited"} and refusals[0]["ref"] == 9
    await b.send({"type": "meeting.ice", "candidate": None})  # cheap frames still pass
    await b.send({"type": "ping"})
    await b.next("pong")
    chats = [await a.next("meeting.chat") for _ in range(9)]
    assert [c["text"] for c in chats] == [f"spam {n}" for n in range(9)]
    await a.send({"type": "ping"})
    await a.next("pong")
    assert not [f for f in a.frames if f["type"] == "meeting.chat"]
    await close_all(a, b)
