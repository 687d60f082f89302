"""Creating groups and changing who is in them: plain functions that take an open transaction.

Bulk changes cost a constant number of statements per chunk of 5,000 people
(validate against the organisation's memberships, find who is already in,
insert or delete), then one bus message so every node drops its cached member
set, and one stored ``group.added`` / ``group.removed`` event per person
affected, so their devices learn of it even if they were offline.

Leaving or being removed is a revocation (server/revocation.py) of the group:
uploads into it end, a guest's sessions end (a guest is not let back in by
``load_group``). Someone removed from the organisation leaves all its groups
in the same transaction (``do_leave_the_organisations_groups``), so no node
delivers another group frame to their sockets, old or new.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select, update

from server.accounts.models import User
from server.config import Settings
from server.db import Transaction, utcnow
from server.db.one_of import chunks
from server.errors import Conflict, Forbidden, InvalidInput, NotFound
from server.i18n import _
from server.gateway.events import emit
from server.groups.access import GroupAccess
from server.groups import guests
from server.groups.events import publish_members_changed, publish_to_group
from server.groups.models import Group, GroupMember
from server.orgs.access import OrgContext
from server.orgs.departments import department_subtree_ids
from server.orgs.models import Membership
from server.revocation import AccessRevoked, do_revoke_access, register_revocation

async def member_count(tx: Transaction, group_id: int) -> int:
    return await tx.session.scalar(select(func.count()).select_from(GroupMember).where(GroupMember.group_id == group_id))


async def check_all_found(tx: Transaction, column, user_ids: Sequence[int], field: str, refusal: str) -> list[int]:
    """The distinct ids, all found in ``column`` (within the transaction's organisation); else ``refusal``
    (a msgid with ``{shown}``) names the first few that are not."""
    wanted = sorted(set(user_ids))
    found: set[int] = set()
    for chunk in chunks(wanted):
        found.update(await tx.session.scalars(select(column).where(column.in_(chunk))))
    strangers = [u for u in wanted if u not in found]
    if strangers:
        shown = ", ".join(map(str, strangers[:10])) + (" ..." if len(strangers) > 10 else "")
        raise InvalidInput(refusal, field=field, shown=shown)
    return wanted


async def check_people_of_org(tx: Transaction, user_ids: Sequence[int], field: str) -> list[int]:
    """The distinct ids, all people of this organisation."""
    return await check_all_found(tx, Membership.user_id, user_ids, field, _("not people of this organisation: {shown}"))


def check_member_limit(group: Group, current: int, adding: int) -> None:
    if current + adding > group.member_limit:
        raise InvalidInput(
            "a group may have at most {member_limit} members; it has {current} and {adding} would be added",
            field="user_ids",
            code="too_many_members", member_limit=group.member_limit, current=current, adding=adding,
        )


async def do_create_group(
    tx: Transaction,
    org: OrgContext,
    settings: Settings,
    *,
    name: str,
    department_id: int | None,
    member_ids: Sequence[int],
    allow_guests: bool,
    external: bool = False,
    member_limit: int | None = None,
) -> Group:
    """The creator becomes the owner; the department's whole subtree and the listed people become members."""
    people = set(await check_people_of_org(tx, member_ids, "member_ids"))
    if department_id is not None:
        try:
            departments = await department_subtree_ids(tx, department_id)
        except NotFound:
            raise InvalidInput("no department {department_id} in this organisation", field="department_id", department_id=department_id) from None
        people.update(await tx.session.scalars(select(Membership.user_id).where(Membership.department_id.in_(departments))))
    people.discard(org.user_id)
    limit = member_limit or settings.group_member_limit
    check_member_limit(Group(member_limit=limit), 1, len(people))
    group = await do_make_group(
        tx, org.org_id, name=name, owner_id=org.user_id, member_limit=limit, external=external,
        allow_guests=allow_guests, department_id=department_id,
    )
    await _insert_members(tx, org.org_id, group.id, sorted(people), role="member")
    await emit(tx, sorted(people), "group.added", {"org_id": org.org_id, "group_id": group.id, "name": name})
    return group


async def do_make_group(
    tx: Transaction, org_id: int, *, name: str, owner_id: int, member_limit: int, external: bool,
    allow_guests: bool = False, department_id: int | None = None,
) -> Group:
    """The group and its owner, nobody else (the one-to-one chat of an external contact is made this way too)."""
    group = Group(
        org_id=org_id, name=name, last_seq=0, member_limit=member_limit, allow_guests=allow_guests,
        department_id=department_id, created_by=owner_id, external=external,
    )
    tx.session.add(group)
    await tx.session.flush()
    await _insert_members(tx, org_id, group.id, [owner_id], role="owner")
    await emit(tx, [owner_id], "group.added", {"org_id": org_id, "group_id": group.id, "name": name})
    return group


async def _insert_members(tx: Transaction, org_id: int, group_id: int, user_ids: Sequence[int], *, role: str) -> None:
    now = utcnow()
    for chunk in chunks(user_ids):
        await tx.session.execute(
            insert(GroupMember),
            [
                {"org_id": org_id, "group_id": group_id, "user_id": u, "role": role, "read_seq": 0, "muted": False, "joined_at": now}
                for u in chunk
            ],
        )


async def do_add_members(tx: Transaction, access: GroupAccess, user_ids: Sequence[int]) -> list[int]:
    """Add people of the organisation (admins only); those already in are left as they are. Returns who was added."""
    access.require_role("admin", _("add members"))
    return await do_add_checked_people(tx, access.group, await check_people_of_org(tx, user_ids, "user_ids"))


async def do_add_checked_people(tx: Transaction, group: Group, wanted: Sequence[int]) -> list[int]:
    """Add people the caller has checked may be in this group (sorted, distinct), within its member limit."""
    already: set[int] = set()
    for chunk in chunks(wanted):
        already.update(
            await tx.session.scalars(select(GroupMember.user_id).where(GroupMember.group_id == group.id, GroupMember.user_id.in_(chunk)))
        )
    added = [u for u in wanted if u not in already]
    if not added:
        return []
    check_member_limit(group, await member_count(tx, group.id), len(added))
    await _insert_members(tx, group.org_id, group.id, added, role="member")
    publish_members_changed(tx, group.id)
    await emit(tx, added, "group.added", {"org_id": group.org_id, "group_id": group.id, "name": group.name})
    return added


async def do_remove_members(tx: Transaction, access: GroupAccess, user_ids: Sequence[int]) -> list[int]:
    """Remove members (admins only). The owner cannot be removed, and an admin only by the owner."""
    access.require_role("admin", _("remove members"))
    group = access.group
    wanted = sorted(set(user_ids))
    targets: list[tuple[int, str]] = []
    for chunk in chunks(wanted):
        targets.extend(
            (
                await tx.session.execute(
                    select(GroupMember.user_id, GroupMember.role).where(GroupMember.group_id == group.id, GroupMember.user_id.in_(chunk))
                )
            ).all()
        )
    for user_id, role in targets:
        if role == "owner":
            raise Forbidden("the owner cannot be removed; hand the group over first", field="user_ids")
        if role == "admin" and access.member.role != "owner":
            raise Forbidden("only the group owner can remove an admin", field="user_ids")
    removed = [user_id for user_id, _ in targets]
    await do_delete_members(tx, group, removed)
    return removed


async def do_leave(tx: Transaction, access: GroupAccess) -> None:
    if access.member.role == "owner":
        raise Conflict("the owner cannot leave; hand the group over to another member first")
    await do_delete_members(tx, access.group, [access.user_id])


async def do_delete_members(tx: Transaction, group: Group, user_ids: Sequence[int]) -> None:
    """Take people out of one group; what they had through it ends too (server/revocation.py)."""
    if not user_ids:
        return
    await _delete_rows(tx, group.org_id, group.id, user_ids)
    await do_revoke_access(tx, group.org_id, user_ids, (guests.SCOPE_KIND, group.id))


async def _delete_rows(tx: Transaction, org_id: int, group_id: int, user_ids: Sequence[int]) -> None:
    for chunk in chunks(user_ids):
        await tx.session.execute(
            delete(GroupMember)
            .where(GroupMember.group_id == group_id, GroupMember.user_id.in_(chunk))
            .execution_options(synchronize_session=False)
        )
    publish_members_changed(tx, group_id)
    await emit(tx, user_ids, "group.removed", {"org_id": org_id, "group_id": group_id})


async def do_leave_the_organisations_groups(tx: Transaction, revoked: AccessRevoked) -> None:
    """Whoever loses the organisation leaves each of its groups: one query to find them, then per group as above.

    Running it twice is harmless (the second finds nothing), so a handler that needs them gone first calls it too.
    """
    if revoked.scope is not None:
        return
    in_groups: dict[int, list[int]] = {}
    for chunk in chunks(revoked.user_ids):
        rows = await tx.session.execute(
            select(GroupMember.group_id, GroupMember.user_id).where(GroupMember.org_id == revoked.org_id, GroupMember.user_id.in_(chunk))
        )
        for group_id, user_id in rows:
            in_groups.setdefault(group_id, []).append(user_id)
    for group_id, user_ids in sorted(in_groups.items()):
        await _delete_rows(tx, revoked.org_id, group_id, user_ids)


register_revocation(do_leave_the_organisations_groups)


async def do_put_in_charge(tx: Transaction, group: Group, user_id: int) -> None:
    """``user_id`` becomes the group's owner, joining it if need be (its whole history is there to read);
    whoever owned it stays on as an admin. A handover (server/contacts/handover.py), not an addition: no member limit."""
    await tx.session.execute(
        update(GroupMember)
        .where(GroupMember.group_id == group.id, GroupMember.role == "owner", GroupMember.user_id != user_id)
        .values(role="admin")
        .execution_options(synchronize_session=False)
    )
    member = await tx.session.scalar(select(GroupMember).where(GroupMember.group_id == group.id, GroupMember.user_id == user_id))
    if member is None:
        await _insert_members(tx, group.org_id, group.id, [user_id], role="owner")
        publish_members_changed(tx, group.id)
        await emit(tx, [user_id], "group.added", {"org_id": group.org_id, "group_id": group.id, "name": group.name})
    else:
        member.role = "owner"
        await tx.session.flush()
    publish_to_group(tx, group.id, {"type": "group.member_role", "group_id": group.id, "user_id": user_id, "role": "owner"})


async def do_set_role(tx: Transaction, access: GroupAccess, user_id: int, role: str) -> None:
    """The owner names admins, demotes them, or hands the group over (then stays on as an admin)."""
    access.require_role("owner", _("change roles"))
    if user_id == access.user_id:
        raise InvalidInput("hand the group over to someone else instead of changing your own role", field="user_id")
    target = await tx.session.scalar(
        select(GroupMember).where(GroupMember.group_id == access.group.id, GroupMember.user_id == user_id)
    )
    if target is None:
        raise NotFound("no such member in this group")
    if role == "owner":
        access.member.role = "admin"
    target.role = role
    await tx.session.flush()
    publish_to_group(tx, access.group.id, {"type": "group.member_role", "group_id": access.group.id, "user_id": user_id, "role": role})


async def do_update_group(tx: Transaction, access: GroupAccess, *, name: str | None, allow_guests: bool | None) -> Group:
    """Rename (admins); let guests in or not (the owner only: refusing them removes those already in)."""
    group = access.group
    if name is not None and name != group.name:
        access.require_role("admin", _("rename the group"))
        group.name = name
    if allow_guests is not None and allow_guests != group.allow_guests:
        access.require_role("owner", _("allow or refuse guests"))
        group.allow_guests = allow_guests
        if not allow_guests:
            guest_ids = list(
                await tx.session.scalars(
                    select(GroupMember.user_id).join(User, User.id == GroupMember.user_id).where(GroupMember.group_id == group.id, User.kind == "guest")
                )
            )
            await do_delete_members(tx, group, guest_ids)
    await tx.session.flush()
    publish_to_group(tx, group.id, {"type": "group.updated", "group_id": group.id, "name": group.name, "allow_guests": group.allow_guests})
    return group


async def do_mute(tx: Transaction, access: GroupAccess, muted: bool) -> None:
    """Muting is the member's own setting: it silences notifications, not unread counts."""
    await tx.session.execute(
        update(GroupMember)
        .where(GroupMember.group_id == access.group.id, GroupMember.user_id == access.user_id)
        .values(muted=muted)
        .execution_options(synchronize_session=False)
    )
    access.member.muted = muted
