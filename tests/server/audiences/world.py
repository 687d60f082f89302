"""A small organisation to address: a department tree, a group with a guest in it, and another organisation beside it."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert

from server.accounts.models import User
from server.db import Database, utcnow
from server.groups.models import Group, GroupMember
from server.orgs.departments import do_create_department
from server.orgs.models import Membership, Organisation


@dataclass
class World:
    org_id: int
    other_org_id: int
    people: dict[str, int]  # name → user id
    departments: dict[str, int]  # school, grade1, class1a, office; other (of the other organisation)
    groups: dict[str, int]  # team; other


async def build_world(db: Database) -> World:
    """school > grade1 > class1a; office. amy in school, ben in grade1, cat and dan in class1a, eve in office, fay nowhere;
    the group "team" holds dan, eve and gus (a user who is not a member). zed is the other organisation's, in its department and group."""
    now = utcnow()
    names = ["amy", "ben", "cat", "dan", "eve", "fay", "gus", "zed"]
    async with db.transaction() as tx:
        org_id, other_org_id = await tx.session.scalars(insert(Organisation).returning(Organisation.id, sort_by_parameter_order=True),
                                                         [{"name": "School", "slug": "aud-school"}, {"name": "Other", "slug": "aud-other"}])
        ids = await tx.session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), [
            {"name": n.title(), "email": f"{n}@aud.example.org", "kind": "person", "totp_enabled": False, "created_at": now} for n in names
        ])
        people = dict(zip(names, ids))
    departments, groups = {}, {}
    async with db.transaction(org_id=org_id) as tx:
        departments["school"] = (await do_create_department(tx, name="School", parent_id=None)).id
        departments["grade1"] = (await do_create_department(tx, name="Grade 1", parent_id=departments["school"])).id
        departments["class1a"] = (await do_create_department(tx, name="Class 1A", parent_id=departments["grade1"])).id
        departments["office"] = (await do_create_department(tx, name="Office", parent_id=None)).id
        where = {"amy": "school", "ben": "grade1", "cat": "class1a", "dan": "class1a", "eve": "office", "fay": None}
        for name, department in where.items():
            tx.session.add(Membership(user_id=people[name], display_name=name.title(), role="member",
                                      phone=f"+4479460000{len(name) + list(where).index(name)}" if name != "fay" else None,
                                      department_id=departments[department] if department else None))
        team = Group(name="Team", member_limit=100)
        tx.session.add(team)
        await tx.session.flush()
        groups["team"] = team.id
        tx.session.add_all(GroupMember(group_id=team.id, user_id=people[n]) for n in ("dan", "eve", "gus"))
    async with db.transaction(org_id=other_org_id) as tx:
        departments["other"] = (await do_create_department(tx, name="Elsewhere", parent_id=None)).id
        tx.session.add(Membership(user_id=people["zed"], display_name="Zed", role="member", department_id=departments["other"]))
        other = Group(name="Other", member_limit=100)
        tx.session.add(other)
        await tx.session.flush()
        groups["other"] = other.id
        tx.session.add(GroupMember(group_id=other.id, user_id=people["zed"]))
    return World(org_id, other_org_id, people, departments, groups)
