"""How far a sender reaches: an audience that may name only what lies under some departments.

Organisation admins, and senders a capability grants the whole organisation,
address anyone. Someone whose right to send comes with a place in the tree (a
school's administrator sends to their school, a head teacher to their class)
may name only what lies under it: the capability that granted the right knows
the department subtrees (paths such as ``/1/5/``) and asks
``check_audience_within(tx, audience, paths)`` before storing anything.

Each kind says where its ids lie with ``placed(tx, ids) -> {id: path}``: a
department its own path, a member their department's. A kind without
``placed``, or an id it does not place (a group, whose members may be
anywhere; a member of no department), lies outside every subtree but the whole
organisation's. What lies outside is refused with the message an unknown id
gets, so a scoped sender learns nothing about the rest of the organisation.

Where someone's place gives them that right is a registry:
``register_sender_reach(reach)``, ``reach(tx, org_id, user_id)`` answering
the subtrees (schools: its staff's units). ``sender_paths`` asks every
registered one; a capability that sends (notify) lets those people send within
them without a grant of its own, and the preview previews only there.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence

from server.audiences.expand import Audience
from server.audiences.kinds import audience_kind
from server.db import Transaction
from server.errors import InvalidInput

WHOLE = "/"

SenderReach = Callable[[Transaction, int, int], Awaitable[list[str]]]
_reaches: list[SenderReach] = []


def register_sender_reach(reach: SenderReach) -> None:
    """``reach(tx, org_id, user_id)``: the department paths someone may send to by their place in the organisation
    (none: no such right). At import, once per process; ``tx`` need not be scoped to the organisation."""
    if reach not in _reaches:
        _reaches.append(reach)


async def sender_paths(tx: Transaction, org_id: int, user_id: int) -> list[str]:
    """The subtrees a member may send to by their place (outermost first; empty if none), from every registered reach."""
    return outermost({path for reach in _reaches for path in await reach(tx, org_id, user_id)})


def outermost(paths: Iterable[str]) -> list[str]:
    """The subtrees that are under none of the others, sorted (``["/"]`` if the whole organisation is among them)."""
    found = sorted(set(paths))
    return [p for p in found if not any(p != q and p.startswith(q) for q in found)]


def within(path: str, paths: Sequence[str]) -> bool:
    return any(path.startswith(p) for p in paths)


async def check_audience_within(tx: Transaction, audience: Audience, paths: Sequence[str]) -> None:
    """Every part of ``audience`` lies under one of ``paths`` (``"/"``: the whole organisation), or 400 naming the part."""
    if WHOLE in paths:
        return
    if audience.everyone:
        raise InvalidInput("you may not send to the whole organisation", field="audience.everyone", code="outside_your_reach")
    for name, ids in audience.parts.items():
        named = sorted(set(ids))
        kind = audience_kind(name)
        placed = getattr(kind, "placed", None)
        where = await placed(tx, named) if placed is not None and named else {}
        outside = [i for i in named if not within(where.get(i, ""), paths)]
        if outside:
            raise InvalidInput("no such {kind} in this organisation: {ids}", field=f"audience.{name}", kind=name,
                               ids=", ".join(map(str, outside[:10])))
