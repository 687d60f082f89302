"""What a device may send: a bounded message size, token buckets per socket and per user, and the close of a flooder."""
from __future__ import annotations


import pytest
from aiohttp import WSMsgType

from server.gateway.budgets import FrameBudget, TokenBucket, Verdict
from server.gateway.frames import CLOSE_FLOODING
from server.appkeys import HUB
from tests.factories import person, sign_in
from tests.server.gateway.sockets import connect, token_of

BURST = 30
USER_BURST = 50


@pytest.fixture
def settings(settings):
    """Small budgets that refill slowly (a token in 10 s), so a test can count exactly what passes."""
    settings.ws_max_frame_kb = 4
    settings.ws_frame_rate = settings.ws_user_frame_rate = 0.1
    settings.ws_frame_burst, settings.ws_user_frame_burst = BURST, USER_BURST
    settings.ws_flood_refusals = 20
    return settings


def ws_url(client) -> str:
    return str(client.make_url("/api/v1/ws"))


async def ready_device(client, headers):
    device = await connect(client.session, ws_url(client), token_of(headers))
    await device.until_ready()
    return device


async def answers(device, count: int) -> list[str]:
    """The next ``count`` frames' types, an error frame as its code."""
    frames = [await device.next_frame() for _ in range(count)]
    return [f["error"]["code"] if f["type"] == "error" else f["type"] for f in frames]


async def test_a_message_over_the_size_limit_closes_the_socket_with_1009(client, db):
    alice = await person(client, db)
    device = await ready_device(client, alice.headers)
    await device.send({"type": "ping", "pad": "x" * 3000})
    assert await device.next_frame() == {"type": "pong"}
    await device.send({"type": "ping", "pad": "x" * 5000})
    assert await device.closed_with() == 1009


async def test_frames_past_the_sockets_burst_are_refused_as_rate_limited_and_the_socket_stays_open(client, db):
    alice = await person(client, db)
    device = await ready_device(client, alice.headers)
    for n in range(BURST + 5):
        await device.send({"type": "ping", "ref": n})
    got = await answers(device, BURST + 5)
    assert got == ["pong"] * BURST + ["rate_limited"] * 5
    assert not device.ws.closed


async def test_a_refused_frame_is_told_with_its_ref_and_nothing_reaches_the_handler(client, db, app):
    seen = []
    app[HUB].on("test.costly", lambda connection, message: seen.append(message["ref"]), cost=8)
    alice = await person(client, db)
    device = await ready_device(client, alice.headers)
    for n in range(4):
        await device.send({"type": "test.costly", "ref": n})
    await device.send({"type": "ping"})
    error = await device.next_frame()
    assert error["error"]["code"] == "rate_limited" and error["ref"] == 3
    assert await device.next_frame() == {"type": "pong"}  # 3 x 8 spent: the 6 left pay for a ping, not a fourth
    assert seen == [0, 1, 2]


async def test_a_users_sockets_on_a_node_share_one_budget(client, db):
    alice = await person(client, db)
    first = await ready_device(client, alice.headers)
    second = await ready_device(client, await sign_in(client, alice.email))
    for n in range(BURST):
        await first.send({"type": "ping"})
    assert await answers(first, BURST) == ["pong"] * BURST
    for n in range(BURST):
        await second.send({"type": "ping"})
    assert await answers(second, BURST) == ["pong"] * (USER_BURST - BURST) + ["rate_limited"] * (2 * BURST - USER_BURST)


async def test_reconnecting_does_not_refill_a_users_budget(client, db):
    alice = await person(client, db)
    device = await ready_device(client, alice.headers)
    for n in range(BURST):
        await device.send({"type": "ping"})
    await answers(device, BURST)
    await device.close()
    again = await ready_device(client, alice.headers)
    for n in range(BURST):
        await again.send({"type": "ping"})
    assert (await answers(again, BURST)).count("pong") == USER_BURST - BURST


async def test_a_socket_that_keeps_sending_after_refusals_is_closed_with_4029_and_others_are_untouched(client, db):
    alice, bob = await person(client, db), await person(client, db)
    flooder = await ready_device(client, alice.headers)
    bystander = await ready_device(client, bob.headers)
    for n in range(BURST + 25):
        await flooder.send({"type": "ping"})
    assert await flooder.closed_with() == CLOSE_FLOODING
    await bystander.send({"type": "ping"})
    assert await bystander.next_frame() == {"type": "pong"}


def test_a_bucket_refills_at_its_rate_up_to_its_burst_and_a_refused_frame_takes_nothing():
    own, user = TokenBucket(rate=2, burst=4, now=0), TokenBucket(rate=0, burst=100, now=0)
    budget = FrameBudget(own, user, flood_refusals=2, now=0)
    assert [budget.charge(1, now=0) for _ in range(5)] == [Verdict.ACCEPTED] * 4 + [Verdict.REFUSED]
    assert budget.charge(1, now=0.5) is Verdict.ACCEPTED  # one token back after half a second
    assert budget.charge(3, now=0.5) is Verdict.REFUSED
    assert user.tokens == 95  # five frames paid; the refused ones took nothing
    assert budget.charge(1, now=0.5) is Verdict.FLOODING  # a third refusal within the window
    assert budget.charge(4, now=100) is Verdict.ACCEPTED and own.tokens == 0  # never more than the burst saved


def test_a_frame_cost_that_no_budget_could_pay_is_refused_at_registration(app):
    with pytest.raises(ValueError, match="never be paid"):
        app[HUB].on("test.impossible", lambda c, m: None, cost=BURST + 1)


async def chinese_readers_device(client, db):
    alice = await person(client, db)
    assert (await client.patch("/api/v1/me", json={"locale": "zh-CN"}, headers=alice.headers)).status == 200
    return await ready_device(client, alice.headers)


async def test_a_chinese_readers_refusal_and_the_close_of_a_message_too_big_read_in_chinese(client, db):
    device = await chinese_readers_device(client, db)
    for n in range(BURST + 1):
        await device.send({"type": "ping", "ref": n})
    refused = [await device.next_frame() for _ in range(BURST + 1)][-1]
    assert refused["error"] == {"code": "rate_limited", "message": "消息发送过于频繁，此条已被丢弃；请放慢速度后重新发送"}
    await device.ws.send_str("x" * 5000)
    msg = await device.ws.receive(timeout=5)
    assert (msg.type, msg.data, msg.extra) == (WSMsgType.CLOSE, 1009, "单条消息最大 4 KB")


async def test_a_flooders_close_reason_is_in_its_persons_language(client, db):
    device = await chinese_readers_device(client, db)
    for n in range(BURST + 25):
        await device.send({"type": "ping", "ref": n})
    while (msg := await device.ws.receive(timeout=5)).type == WSMsgType.TEXT:
        pass
    assert (msg.type, msg.data, msg.extra) == (WSMsgType.CLOSE, CLOSE_FLOODING, "提示放慢后仍发送过多消息")
