"""Who is connected, asked over the bus: each node answers for its own sockets, for named people or for everyone."""
from __future__ import annotations

from server.bus import LocalBus
from server.gateway.presence import ANSWER_CHANNEL, QUERY_CHANNEL, Presence


class Sockets:
    """A node's hub as presence sees it: the people with a socket there."""

    def __init__(self, *user_ids: int) -> None:
        self.users = {u: () for u in user_ids}

    def local_user_ids(self):
        return self.users.keys()


def nodes(bus: LocalBus, **hubs: Sockets) -> dict[str, Presence]:
    found = {}
    for name, hub in hubs.items():
        presence = found[name] = Presence(hub, bus, node=name, alone=False, wait_s=0.5)
        bus.subscribe(QUERY_CHANNEL, presence.on_query)
        bus.subscribe(ANSWER_CHANNEL, presence.on_answer)
    return found


async def test_everyone_is_the_people_connected_to_any_node_and_named_people_only_those_asked():
    bus = LocalBus()
    a, b, c = nodes(bus, a=Sockets(1, 2), b=Sockets(3), c=Sockets(4, 5)).values()
    assert await a.everyone() == {1, 2, 3, 4, 5}
    assert await b.connected([2, 4, 6]) == {2, 4}
    assert await c.everyone() == {1, 2, 3, 4, 5}


async def test_a_single_node_answers_from_its_own_sockets_without_asking():
    alone = Presence(Sockets(7, 8), LocalBus(), node="only", alone=True, wait_s=5)
    assert await alone.everyone() == {7, 8} and await alone.connected([8, 9]) == {8}


async def test_everyone_waits_longer_for_a_known_node_that_is_slow_to_answer():
    """A reminder asks once for everyone: a busy node it knows, answering after ``wait_s``, still counts."""
    import asyncio

    bus = LocalBus()
    a = Presence(Sockets(1), bus, node="a", alone=False, wait_s=0.2)
    b = Presence(Sockets(2), bus, node="b", alone=False, wait_s=0.2)
    slow = False

    def b_hears(payload: bytes) -> None:
        if slow:
            asyncio.get_running_loop().call_later(0.6, b.on_query, payload)
        else:
            b.on_query(payload)

    bus.subscribe(QUERY_CHANNEL, b_hears)
    bus.subscribe(ANSWER_CHANNEL, a.on_answer)
    assert await a.everyone() == {1, 2}  # now a knows b
    slow = True
    assert await a.connected([1, 2]) == {1}  # a push too many is the cost of a late node there
    assert await a.connected([1, 2], patience_s=2) == {1, 2}  # a reminder's SMS would cost more
    assert await a.everyone() == {1, 2}
