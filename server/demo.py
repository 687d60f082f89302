"""``muster demo``: a filled-in organisation to click through on a fresh machine.

"Riverside Hospital & School" has a hospital and a school side by side, the
two kinds of organisation Muster is modelled on (see docs/ARCHITECTURE.md),
a department tree three levels deep and about forty people. Three of them can
sign in with the passwords in ``DEMO_LOGINS``; everyone else is a directory
entry only (no password).

Seeding goes through the same functions the API uses (``do_create_user``,
``do_create_org``, the department and member functions of server/orgs) and is
idempotent: it looks each thing up by its natural key (email, slug, parent and
name) and only creates what is missing, so ``muster demo`` can run every time.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from server.accounts.models import User
from server.accounts.users import do_create_user
from server.db import Database, Transaction
from server.orgs.actions import do_create_org
from server.orgs.models import Department, Membership, Organisation

DEMO_ORG_NAME = "Riverside Hospital & School"
DEMO_ORG_SLUG = "demo"


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


async def do_seed_demo(db: Database) -> DemoOrg:
    """Create whatever of the demo organisation is missing; return what is there."""
    async with db.transaction() as tx:
        owner_login = DEMO_LOGINS[0]
        owner = await _person(tx, owner_login.name, owner_login.email, owner_login.password)
        org = (await tx.session.execute(select(Organisation).where(Organisation.slug == DEMO_ORG_SLUG))).scalar_one_or_none()
        if org is None:
            org = await do_create_org(tx, name=DEMO_ORG_NAME, slug=DEMO_ORG_SLUG, owner=owner)
    async with db.transaction(org_id=org.id) as tx:
        departments = {}
        for path in DEMO_DEPARTMENTS:
            departments[path] = await _department(tx, departments, path)
        for n, login in enumerate(DEMO_LOGINS, start=1):
            user = await _person(tx, login.name, login.email, login.password)
            await _member(tx, user, login.role, login.title, departments[login.department], demo_phone(n))
        for n, (name, title, department) in enumerate(DEMO_PEOPLE, start=len(DEMO_LOGINS) + 1):
            user = await _person(tx, name, demo_email(name), None)
            await _member(tx, user, "member", title, departments[department], demo_phone(n))
        member_count = await tx.session.scalar(select(func.count()).select_from(Membership))
    return DemoOrg(org_id=org.id, name=org.name, member_count=member_count, logins=DEMO_LOGINS)


async def _person(tx: Transaction, name: str, email: str, password: str | None) -> User:
    user = (await tx.session.execute(select(User).where(User.email == email))).scalar_one_or_none()
    return user if user is not None else await do_create_user(tx, name=name, email=email, password=password)


async def _department(tx: Transaction, departments: dict[str, Department], path: str) -> Department:
    parent_path, _, name = path.rpartition("/")
    parent = departments[parent_path] if parent_path else None
    parent_id = parent.id if parent else None
    found = (
        await tx.session.execute(select(Department).where(Department.parent_id == parent_id, Department.name == name))
    ).scalar_one_or_none()
    if found is not None:
        return found
    department = Department(org_id=tx.org_id, parent_id=parent_id, name=name)
    tx.session.add(department)
    await tx.session.flush()
    department.path = f"{parent.path if parent else '/'}{department.id}/"
    await tx.session.flush()
    return department


async def _member(tx: Transaction, user: User, role: str, title: str, department: Department, phone: str) -> None:
    membership = (await tx.session.execute(select(Membership).where(Membership.user_id == user.id))).scalar_one_or_none()
    if membership is None:
        membership = Membership(org_id=tx.org_id, user_id=user.id, role=role, display_name=user.name, email=user.email)
        tx.session.add(membership)
    # The owner's membership comes from do_create_org; fill in what the directory shows.
    if membership.department_id is None:
        membership.department_id = department.id
        membership.title = title
        membership.phone = phone
    await tx.session.flush()


async def seed_demo_database(database_url: str) -> DemoOrg:
    """Seed the database at this URL (already migrated), from a plain script."""
    db = Database(database_url)
    try:
        return await do_seed_demo(db)
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
