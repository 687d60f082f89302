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
