"""``muster demo``: a filled-in organisation to click through on a fresh machine.

"Riverside Hospital & School" has a hospital and a school side by side, two
of the kinds of organisation Muster is made for, a department tree three
levels deep and forty people. Three of them can
sign in with the passwords in ``DEMO_LOGINS``; everyone else is a directory
entry only (no password).

Seeding goes through the same functions the API uses (``do_create_user``,
``do_create_org``, the department and member functions of server/orgs) and is
idempotent: it looks each thing up by its natural key (email, slug, parent and
name) and only creates what is missing, so ``muster demo`` can run every time.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, replace

from sqlalchemy import func, select

from server.accounts.auth import Principal
from server.accounts.models import User
from server.accounts.passwords import hash_password
from server.accounts.users import do_create_user
from server import capabilities
from server.config import Settings
from server.db import Database, Transaction
from server.groups.demo import do_seed_demo_groups
from server.orgs.access import OrgContext
from server.orgs.actions import do_create_org
from server.orgs.departments import do_ensure_department_path
from server.orgs.members import MemberDetails, do_add_member, do_update_member
from server.orgs.models import Membership, Organisation

DEMO_ORG_NAME = "Riverside Hospital & School"
DEMO_ORG_SLUG = "demo"
# The demo's phone numbers are written with their country code; this only reads them.
DEMO_PHONE_REGION = "CN"


@dataclass(frozen=True)
class DemoLogin:
    role: str  # role in the organisation
    name: str
    email: str
    password: str
    title: str
    department: str  # path in the tree, "Hospital/Emergency"


# The three people who can sign in. The first one owns the organisation.
DEMO_LOGINS = (
    DemoLogin("owner", "Grace Okafor", "admin@riverside.example", "riverside-admin", "Director of Operations", "Administration"),
    DemoLogin("member", "Mei Lin", "nurse@riverside.example", "riverside-nurse", "Charge Nurse", "Hospital/Emergency"),
    DemoLogin("member", "Tom Becker", "teacher@riverside.example", "riverside-teacher", "Form Teacher", "School/Class 1A"),
)

# Every department, parents before children.
DEMO_DEPARTMENTS = (
    "Administration",
    "Hospital",
    "Hospital/Emergency",
    "Hospital/Surgery",
    "Hospital/Surgery/Ward 3",
    "Hospital/Surgery/Operating Theatres",
    "Hospital/Paediatrics",
    "Hospital/Pharmacy",
    "School",
    "School/Office",
    "School/Class 1A",
    "School/Class 1B",
    "School/Class 2A",
)

# (name, title, department) of the people listed in the directory without a login.
DEMO_PEOPLE = (
    ("Daniel Reyes", "Finance Officer", "Administration"),
    ("Aisha Rahman", "HR Manager", "Administration"),
    ("Wang Fang", "Chief Medical Officer", "Hospital"),
    ("Samuel Adeyemi", "Emergency Physician", "Hospital/Emergency"),
    ("Zhang Wei", "Emergency Physician", "Hospital/Emergency"),
    ("Priya Nair", "Staff Nurse", "Hospital/Emergency"),
    ("Lucas Moreau", "Paramedic", "Hospital/Emergency"),
    ("Hannah Schmidt", "Triage Nurse", "Hospital/Emergency"),
    ("Omar Haddad", "Head of Surgery", "Hospital/Surgery"),
    ("Elena Petrova", "Consultant Surgeon", "Hospital/Surgery"),
    ("Liu Yang", "Ward Sister", "Hospital/Surgery/Ward 3"),
    ("James O'Connor", "Staff Nurse", "Hospital/Surgery/Ward 3"),
    ("Fatima Zahra", "Healthcare Assistant", "Hospital/Surgery/Ward 3"),
    ("Chen Jing", "Staff Nurse", "Hospital/Surgery/Ward 3"),
    ("Marco Rossi", "Anaesthetist", "Hospital/Surgery/Operating Theatres"),
    ("Yuki Tanaka", "Theatre Nurse", "Hospital/Surgery/Operating Theatres"),
    ("Sofia Almeida", "Paediatrician", "Hospital/Paediatrics"),
    ("Kwame Mensah", "Paediatric Nurse", "Hospital/Paediatrics"),
    ("Zhao Min", "Paediatric Nurse", "Hospital/Paediatrics"),
    ("Noah Williams", "Pharmacist", "Hospital/Pharmacy"),
    ("Ingrid Larsen", "Pharmacy Technician", "Hospital/Pharmacy"),
    ("Helen Carter", "Head Teacher", "School"),
    ("Ravi Kumar", "Deputy Head", "School"),
    ("Sun Li", "School Secretary", "School/Office"),
    ("Peter Novak", "Caretaker", "School/Office"),
    ("Amelia Brown", "Teaching Assistant", "School/Class 1A"),
    ("Huang Lei", "Parent Representative", "School/Class 1A"),
    ("Olivia Garcia", "Form Teacher", "School/Class 1B"),
    ("Ibrahim Yusuf", "Teaching Assistant", "School/Class 1B"),
    ("Ma Xiaoling", "Parent Representative", "School/Class 1B"),
    ("Sarah Cohen", "Form Teacher", "School/Class 2A"),
    ("Diego Fernandez", "Music Teacher", "School/Class 2A"),
    ("Anna Kowalska", "Teaching Assistant", "School/Class 2A"),
    ("Gao Peng", "Parent Representative", "School/Class 2A"),
    ("Chloe Dubois", "School Nurse", "School/Office"),
    ("Victor Ivanov", "IT Administrator", "Administration"),
    ("Leila Karimi", "Ward Clerk", "Hospital/Surgery/Ward 3"),
)


@dataclass(frozen=True)
class DemoOrg:
    org_id: int
    name: str
    member_count: int
    logins: tuple[DemoLogin, ...]


def demo_phone(n: int) -> str:
    """A made-up Chinese mobile number in E.164, distinct per person."""
    return f"+86139{n:08d}"


def demo_email(name: str) -> str:
    local = "".join(c for c in name.lower().replace(" ", ".") if c.isalnum() or c == ".")
    return f"{local}@riverside.example"


async def do_seed_demo(db: Database, settings: Settings | None = None) -> DemoOrg:
    """Create whatever of the demo organisation is missing, then its groups and each capability's demo; return what is there."""
    settings = settings or Settings()
    owner_login = DEMO_LOGINS[0]
    async with db.transaction() as tx:
        owner = await _account(tx, owner_login)
        org = await tx.session.scalar(select(Organisation).where(Organisation.slug == DEMO_ORG_SLUG))
        if org is None:
            org = await do_create_org(tx, name=DEMO_ORG_NAME, slug=DEMO_ORG_SLUG, owner=owner)
    async with db.transaction(org_id=org.id) as tx:
        owner_member = await tx.session.scalar(select(Membership).where(Membership.user_id == owner.id))
        actor = OrgContext(org.id, Principal(owner.id, 0, owner.name), owner_member.id, owner_member.role)
        departments = {path: await do_ensure_department_path(tx, path.split("/")) for path in DEMO_DEPARTMENTS}
        people = [
            MemberDetails(login.name, login.email, None, login.title, departments[login.department], login.role)
            for login in DEMO_LOGINS
        ] + [
            MemberDetails(name, demo_email(name), None, title, departments[department])
            for name, title, department in DEMO_PEOPLE
        ]
        listed = set(await tx.session.scalars(select(Membership.email)))
        for n, details in enumerate(people, start=1):
            if details.email not in listed:
                await do_add_member(tx, actor, replace(details, phone=demo_phone(n)), phone_region=DEMO_PHONE_REGION)
        for login in DEMO_LOGINS[1:]:  # added as new people above, so with accounts this organisation made
            await _give_password(tx, login)
        if owner_member.department_id is None:  # do_create_org lists the owner by name only
            changes = {"title": owner_login.title, "department_id": departments[owner_login.department], "phone": demo_phone(1)}
            await do_update_member(tx, actor, owner_member.id, changes, phone_region=DEMO_PHONE_REGION)
        member_count = await tx.session.scalar(select(func.count()).select_from(Membership))
    demo = DemoOrg(org_id=org.id, name=org.name, member_count=member_count, logins=DEMO_LOGINS)
    await do_seed_demo_groups(db, org.id, settings, departments)
    for cap in capabilities.load():
        if cap.demo is not None:
            await importlib.import_module(cap.demo).seed_demo(db, demo, settings)
    return demo


async def _account(tx: Transaction, login: DemoLogin) -> User:
    """The login's account, created with its password the first time."""
    user = await tx.session.scalar(select(User).where(User.email == login.email))
    return user if user is not None else await do_create_user(tx, name=login.name, email=login.email, password=login.password)


async def _give_password(tx: Transaction, login: DemoLogin) -> None:
    """The login's password, set the first time (an account added as a member has none)."""
    user = await tx.session.scalar(select(User).where(User.email == login.email))
    if user.password_hash is None:
        user.password_hash = await hash_password(login.password)


async def seed_demo_database(settings: Settings) -> DemoOrg:
    """Seed the database of these settings (already migrated), from a plain script."""
    db = Database(settings.database_url)
    try:
        return await do_seed_demo(db, settings)
    finally:
        await db.close()


def demo_banner(demo: DemoOrg, url: str) -> str:
    """What ``muster demo`` prints: where to go and who to sign in as."""
    width = max(len(login.email) for login in demo.logins)
    lines = [
        "",
        f"  Muster demo: {demo.name} ({demo.member_count} members)",
        "",
        f"  Open {url} and sign in as one of:",
        "",
    ]
    for login in demo.logins:
        who = f"{login.role}, {login.title}"
        lines.append(f"    {login.email:<{width}}   password: {login.password:<18}  ({who})")
    lines += ["", "  Press Ctrl+C to stop.", ""]
    return "\n".join(lines)
