"""The hand-raise queue of a stream: a viewer raises or lowers their hand; its managers see the queue in order and may
invite one (the invitation is an event to that person: bringing them on stage is the co-host publishing's job).

Each change is one statement and one event to the managers and the person
(``live.hand``); the queue is one indexed SELECT in ``raised_at`` order.
"""
from __future__ import annotations

from sqlalchemy import delete, select

from rooms.live.events import tell
from rooms.models import LiveHand, LiveStream
from server.db import Transaction, utcnow
from server.errors import NotFound
from server.orgs.access import OrgContext


def hand_data(hand: LiveHand) -> dict:
    return {"user_id": hand.user_id, "name": hand.name, "raised_at": hand.raised_at.isoformat()}


def _tell(tx: Transaction, stream: LiveStream, user_id: int, data: dict) -> None:
    tell(tx, stream.id, "live.hand", data, to="managers")
    tell(tx, stream.id, "live.hand", data, to=user_id)


async def do_raise_hand(tx: Transaction, org: OrgContext, stream: LiveStream) -> LiveHand:
    """Raise the caller's hand (again: it keeps its place)."""
    hand = await tx.session.scalar(select(LiveHand).where(LiveHand.stream_id == stream.id, LiveHand.user_id == org.user_id))
    if hand is None:
        hand = LiveHand(org_id=stream.org_id, stream_id=stream.id, user_id=org.user_id, name=org.principal.name, raised_at=utcnow())
        tx.session.add(hand)
        await tx.session.flush()
        _tell(tx, stream, org.user_id, {**hand_data(hand), "raised": True})
    return hand


async def do_lower_hand(tx: Transaction, stream: LiveStream, user_id: int) -> bool:
    """Lower a hand (the viewer's own, or any by a manager); False if it was not raised."""
    lowered = await tx.session.execute(delete(LiveHand).where(LiveHand.stream_id == stream.id, LiveHand.user_id == user_id)
                                       .execution_options(synchronize_session=False))
    if lowered.rowcount:
        _tell(tx, stream, user_id, {"user_id": user_id, "raised": False})
    return bool(lowered.rowcount)


async def hands(tx: Transaction, stream: LiveStream) -> list[LiveHand]:
    return list(await tx.session.scalars(select(LiveHand).where(LiveHand.stream_id == stream.id).order_by(LiveHand.raised_at, LiveHand.id)))


async def do_invite(tx: Transaction, stream: LiveStream, user_id: int, by: OrgContext) -> None:
    """Ask a person whose hand is up to come on stage: ``live.invited`` to them."""
    if await tx.session.scalar(select(LiveHand.id).where(LiveHand.stream_id == stream.id, LiveHand.user_id == user_id)) is None:
        raise NotFound("this person's hand is not raised in this stream", field="user_id")
    tell(tx, stream.id, "live.invited", {"by": by.principal.name}, to=user_id)
