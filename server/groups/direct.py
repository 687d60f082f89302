"""Direct chats: one conversation between two people of the organisation, a group of the ``direct`` kind.

Either of the two opens it (from the directory, a group's member list, or by
forwarding a message to the person): the first time it is made, every later
time the same chat is found, whoever asks. One per pair: ``groups.direct_key``
is "<lower user id>:<higher user id>", unique in the organisation, and the
chat is inserted with ``ON CONFLICT DO NOTHING``, so two people opening it at
once get the same chat. Everything else is an ordinary group's (messages,
reads, files, pushes). Both are plain members: nobody renames it, adds to it
or leaves it (``access.check_not_direct``), and each of them sees it under the other
person's name (``peer_names``), so a rename in the directory shows at once.
Someone who left the organisation and came back finds the chat again, history
and all: opening it puts whichever of the two is missing back in.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, func, select

from server.accounts.models import User
from server.db import Transaction, utcnow
from server.db.upsert import insert_for
from server.errors import Forbidden, InvalidInput
from server.gateway.events import emit
from server.groups.access import DIRECT
from server.groups.events import publish_members_changed
from server.groups.membership import check_people_of_org
from server.groups.models import Group, GroupMember
from server.orgs.access import OrgContext
from server.orgs.models import Membership

PEOPLE_ROLES = ("member", "admin", "owner")  # guests and external contacts have no direct chats


def direct_key(a: int, b: int) -> str:
    low, high = sorted((a, b))
    return f"{low}:{high}"


def peer_of(key: str, user_id: int) -> int:
    """The other person of a direct chat's pair."""
    low, high = (int(part) for part in key.split(":"))
    return high if low == user_id else low


async def do_open_direct_chat(tx: Transaction, org: OrgContext, user_id: int) -> Group:
    """The caller's direct chat with ``user_id`` (a person of the organisation), made if there is none yet."""
    if org.role not in PEOPLE_ROLES:
        raise Forbidden("only people of the organisation have direct chats")
    if user_id == org.user_id:
        raise InvalidInput("a direct chat is with someone else", field="user_id", code="direct_chat_self")
    await check_people_of_org(tx, [user_id], "user_id")
    key = direct_key(org.user_id, user_id)
    created = await tx.session.scalar(
        insert_for(tx.dialect, Group)
        .values(org_id=org.org_id, name="", kind=DIRECT, direct_key=key, last_seq=0, last_change_seq=0, member_limit=2,
                allow_guests=False, external=False, created_by=org.user_id, created_at=utcnow(), last_mention_seq=0,
                told_seq=0, mention_told_seq=0)
        .on_conflict_do_nothing(index_elements=["org_id", "direct_key"])
        .returning(Group.id)
    )
    group = await tx.session.scalar(select(Group).where(Group.direct_key == key))
    if created is None:  # it was there already: are both still in it?
        present = set(await tx.session.scalars(select(GroupMember.user_id).where(GroupMember.group_id == group.id)))
        missing = [u for u in (org.user_id, user_id) if u not in present]
    else:
        missing = [org.user_id, user_id]
    if missing:
        await _put_in(tx, group, missing)
    return group


async def _put_in(tx: Transaction, group: Group, user_ids: list[int]) -> None:
    """Make them members (twice at once is once) and tell each, under the other's name."""
    now = utcnow()
    await tx.session.execute(
        insert_for(tx.dialect, GroupMember)
        .values([{"org_id": group.org_id, "group_id": group.id, "user_id": u, "role": "member", "read_seq": 0, "muted": False,
                  "joined_at": now} for u in user_ids])
        .on_conflict_do_nothing()
    )
    publish_members_changed(tx, group.id)
    names = await peer_names(tx, group.org_id, [(group.id, group.direct_key)], user_ids)
    for user_id in user_ids:
        await emit(tx, [user_id], "group.added", {"org_id": group.org_id, "group_id": group.id, "name": names[(group.id, user_id)][1]})


async def peer_names(
    tx: Transaction, org_id: int, groups: Iterable[tuple[int, str | None]], user_ids: Iterable[int]
) -> dict[tuple[int, int], tuple[int, str]]:
    """For each direct chat among ``groups`` ((id, direct_key) pairs; other groups have no key) and each of
    ``user_ids`` in it: (group id, user id) -> (the other person, their name as the organisation lists them, else
    their account's; "" for an account that is gone). One query, none without direct chats."""
    pairs = [(group_id, key, u) for group_id, key in groups if key is not None for u in user_ids]
    peers = {(group_id, u): peer_of(key, u) for group_id, key, u in pairs}
    wanted = sorted(set(peers.values()))
    names: dict[int, str] = {}
    if wanted:
        names = dict(
            (
                await tx.session.execute(
                    select(User.id, func.coalesce(Membership.display_name, User.name))
                    .outerjoin(Membership, and_(Membership.user_id == User.id, Membership.org_id == org_id))
                    .where(User.id.in_(wanted))
                )
            ).all()
        )
    return {pair: (peer, names.get(peer, "")) for pair, peer in peers.items()}
