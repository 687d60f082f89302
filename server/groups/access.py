"""Who may act in a group. Every ``/groups/{group_id}/...`` route loads the group and the caller's membership here.

Another organisation's group does not exist (the transaction is scoped to the
caller's organisation, so it is simply not found). A person of the
organisation who is not a member gets 403. A guest sees only the one group
their invite link was for, and becomes a member on first use if the group's
owner allows guests; a guest removed from it is signed out at once
(server/accounts/guests.py), so this never lets them back in. An external
contact (server/contacts/) sees only the external groups they are in: any
other group does not exist for them (404).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select

from server.db import Transaction
from server.db.upsert import insert_for
from server.errors import Forbidden, InvalidInput, NotFound
from server.groups.events import publish_members_changed
from server.groups.models import GROUP_ROLES, Group, GroupMember
from server.i18n import _
from server.orgs.access import OrgContext


DIRECT = "direct"  # the kind of a direct chat (server/groups/direct.py)
ONLY_A = {"admin": _("only a group admin can {action}"), "owner": _("only a group owner can {action}")}  # by the role it takes


@dataclass
class GroupAccess:
    group: Group
    member: GroupMember

    @property
    def user_id(self) -> int:
        return self.member.user_id

    @property
    def is_admin(self) -> bool:
        return self.member.role in ("admin", "owner")

    def require_role(self, role: str, action: str) -> None:
        if GROUP_ROLES.index(self.member.role) < GROUP_ROLES.index(role):
            raise Forbidden(ONLY_A[role], action=action)


def check_not_direct(group: Group, msgid: str, field: str | None = None) -> None:
    """Refuse to change who is in a direct chat, or what it is called: it is two people, each seeing the other's name."""
    if group.kind == DIRECT:
        raise InvalidInput(msgid, field=field, code="direct_chat")


async def load_group(tx: Transaction, org: OrgContext, group_id: int) -> GroupAccess:
    """The group and the caller's membership in one query; raises 404/403 as described above."""
    if not org.principal.may_see("group", group_id):
        raise NotFound("no such group")
    row = (
        await tx.session.execute(
            select(Group, GroupMember)
            .outerjoin(GroupMember, and_(GroupMember.group_id == Group.id, GroupMember.user_id == org.user_id))
            .where(Group.id == group_id)
        )
    ).first()
    if row is None:
        raise NotFound("no such group")
    group, member = row
    if org.role == "external" and (member is None or not group.external):
        raise NotFound("no such group")
    if member is None:
        if org.principal.is_guest:
            member = await _join_as_guest(tx, org, group)
        else:
            raise Forbidden("you are not a member of this group")
    return GroupAccess(group, member)


async def _join_as_guest(tx: Transaction, org: OrgContext, group: Group) -> GroupMember:
    """A guest invited to this group becomes a member the first time they use it, if guests are still allowed."""
    if not group.allow_guests:
        raise Forbidden("this group's owner does not allow guests")
    count = await tx.session.scalar(select(func.count()).select_from(GroupMember).where(GroupMember.group_id == group.id))
    if count >= group.member_limit:
        raise Forbidden("this group is full ({member_limit} members)", code="too_many_members", member_limit=group.member_limit)
    await tx.session.execute(
        insert_for(tx.dialect, GroupMember)
        .values(org_id=org.org_id, group_id=group.id, user_id=org.user_id, role="member", read_seq=0, muted=False)
        .on_conflict_do_nothing()
    )
    publish_members_changed(tx, group.id)
    return await tx.session.scalar(
        select(GroupMember).where(GroupMember.group_id == group.id, GroupMember.user_id == org.user_id)
    )
