"""The demo's groups: conversations to open right after signing in, with history, a mention and an announcement.

Seeded through the functions the API uses. Idempotent: a group that exists by
name is left as it is.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from server.accounts.auth import Principal
from server.config import Settings
from server.db import Database
from server.groups.access import load_group
from server.groups.announcements import do_announce
from server.groups.membership import do_create_group
from server.groups.messages import do_post_message
from server.groups.models import Group, GroupMember
from server.groups.reading import do_mark_read
from server.orgs.access import OrgContext
from server.orgs.models import Membership


@dataclass(frozen=True)
class DemoGroup:
    name: str
    owner: str  # email of the member who creates it
    department: str | None  # everyone in this department (and below) is a member
    members: tuple[str, ...]  # emails, besides
    history: tuple[tuple[str, str], ...]  # (sender email, text); "@name" in a text mentions that member
    announcement: str | None = None
    unread_for: tuple[str, ...] = ()  # emails whose read pointer stays at the start


NURSE = "nurse@riverside.example"
ADMIN = "admin@riverside.example"
TEACHER = "teacher@riverside.example"

DEMO_GROUPS = (
    DemoGroup(
        "Emergency department", ADMIN, "Hospital/Emergency", (),
        (
            ("samuel.adeyemi@riverside.example", "Night shift handover is at 07:30 in the staff room."),
            ("priya.nair@riverside.example", "Bay 4 needs a new oxygen regulator, I logged it with facilities."),
            ("zhang.wei@riverside.example", "@Mei Lin can you cover triage from 14:00 to 16:00 tomorrow?"),
            ("hannah.schmidt@riverside.example", "Flu vaccines for staff arrive on Thursday."),
            (ADMIN, "Thank you all for a calm week. Rota for next month is in the files tab."),
        ),
        announcement="Masks in all clinical areas from Monday until further notice.",
        unread_for=(NURSE,),
    ),
    DemoGroup(
        "Hospital and school liaison", ADMIN, None, (NURSE, TEACHER, "helen.carter@riverside.example", "sofia.almeida@riverside.example"),
        (
            ("helen.carter@riverside.example", "The school health check is on the 14th; can the hospital send a nurse?"),
            (NURSE, "Yes, I can come in the morning."),
            (TEACHER, "Class 1A will go first, at 09:00."),
        ),
    ),
)


async def do_seed_demo_groups(db: Database, org_id: int, settings: Settings, departments: dict[str, int]) -> None:
    """``departments`` maps the demo's department paths ("Hospital/Emergency") to their ids."""
    async with db.transaction(org_id=org_id) as tx:
        members = {m.email: m for m in await tx.session.scalars(select(Membership).where(Membership.email.is_not(None)))}
        existing = set(await tx.session.scalars(select(Group.name)))
        for demo in DEMO_GROUPS:
            if demo.name in existing:
                continue
            as_member = {email: _acting(org_id, m) for email, m in members.items()}
            group = await do_create_group(
                tx, as_member[demo.owner], settings, name=demo.name, department_id=departments.get(demo.department),
                member_ids=[members[e].user_id for e in demo.members], allow_guests=False,
            )
            names = {m.display_name: m.user_id for m in members.values()}
            for sender, text in demo.history:
                mentions = [user_id for name, user_id in names.items() if f"@{name}" in text]
                access = await load_group(tx, as_member[sender], group.id)
                await do_post_message(tx, access, settings, body=text, mentions=mentions)
            if demo.announcement:
                await do_announce(tx, await load_group(tx, as_member[demo.owner], group.id), settings, demo.announcement)
            in_group = set(await tx.session.scalars(select(GroupMember.user_id).where(GroupMember.group_id == group.id)))
            for email, member in members.items():
                if member.user_id in in_group and email not in demo.unread_for:
                    access = await load_group(tx, as_member[email], group.id)
                    await do_mark_read(tx, access, access.group.last_seq)


def _acting(org_id: int, member: Membership) -> OrgContext:
    return OrgContext(org_id, Principal(member.user_id, 0, member.display_name), member.id, member.role)
