"""Family invitation links: a class's head teacher gives each child's family a link, or its QR code, to sign in with.

For families without a phone on file, or who prefer a link to a code by SMS.
Whoever may change a class's roster (its head teacher, a school, district or
bureau administrator) issues one link per child of the class; each is a
platform sign-in link (server/accounts/sign_in_links.py) of the kind
``schools.family`` whose subject is the child, single-use and expiring. The
person who opens it types their name and their relation to the child, and in
one transaction: gets an account (no password, no email), becomes a guardian of
that child (a ``school_guardians`` row without a phone, linked to the child
with that relation), and joins the class's group (``do_follow_rosters``); then
they land on their children's page (``/schools/family?org=<bureau>``).

* The link's page is seen before anyone signs in, by whoever holds the link: it
  names the organisation, the class, the school and the child (whom the family
  knows), nothing else: not the teacher, not the other guardians.
* A guardian the school listed without a phone (a match key of the child and
  their name) who types that same name becomes that guardian, now with an
  account; anyone else is a new guardian of the child.
* A child's new link withdraws their earlier one that could still be used,
  whoever issued it; a used link stays spent, and its guardian stays.
* A link of a child no longer on the roll of a class opens nothing (410).
"""
from __future__ import annotations

import asyncio
import base64
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from server.accounts.models import SignInLink
from server.accounts.sign_in_links import (
    LinkQuestion,
    SignInGrant,
    SignInLinkKind,
    do_issue_sign_in_links,
    do_withdraw_sign_in_links,
    register_sign_in_link,
    sign_in_link_url,
)
from server.accounts.users import do_create_user
from server.audit.record import Someone, do_audit
from server.config import Settings
from server.db import Transaction
from server.errors import Gone, InvalidInput
from server.i18n import _, translate
from server.orgs.access import OrgContext
from server.orgs.member_fields import clean_display_name
from server.orgs.models import Department
from server.qr import qr_image
from schools.class_groups import do_follow_rosters
from schools.guardians import GuardianEntry, clean_relation, do_link
from schools.models import RELATION_MAX, Guardian, Student
from schools.units import trail, unit_names

KIND = "schools.family"
MAX_LINKS = 200  # children invited at once: a class's roll
NOT_ON_THE_ROLL = _("this child is no longer on a class's roll; ask the school for a new link")


@dataclass(frozen=True)
class ClassPlace:
    """A class as a family reads it: the units under its school ("Grade 1 Class 2") and the school."""

    class_name: str
    school: str


@dataclass(frozen=True)
class FamilyLink:
    student_id: int
    name: str
    link_id: int
    url: str
    expires_at: dt.datetime


def family_page(org_id: int) -> str:
    """A guardian's page of their children in the organisation (schools/web/family.html)."""
    return f"/schools/family?org={org_id}"


async def class_place(tx: Transaction, path: str) -> ClassPlace:
    units = trail(path, await unit_names(tx, [path]))
    school = next((i for i, u in enumerate(units) if u["kind"] == "school"), None)
    below = units[school + 1:] if school is not None else units[-1:]
    return ClassPlace(" ".join(u["name"] for u in below), units[school]["name"] if school is not None else "")


async def children_to_invite(tx: Transaction, class_id: int, student_ids: Sequence[int] | None) -> list[Student]:
    """The children on the class's roll named by ``student_ids`` (400 naming one that is not), or all of them."""
    on_roll = select(Student).where(Student.class_id == class_id, Student.archived_at.is_(None))
    if student_ids is None:
        count = await tx.session.scalar(select(func.count()).select_from(on_roll.subquery()))
        if count > MAX_LINKS:
            raise InvalidInput("at most {max_links} children are invited at once; name them in student_ids",
                               field="student_ids", max_links=MAX_LINKS)
        return list(await tx.session.scalars(on_roll.order_by(Student.name, Student.id)))
    found = {s.id: s for s in await tx.session.scalars(on_roll.where(Student.id.in_(set(student_ids))))}
    for index, student_id in enumerate(student_ids):
        if student_id not in found:
            raise InvalidInput("no child {student_id} on this class's roll", field=f"student_ids.{index}", student_id=student_id)
    return [found[i] for i in dict.fromkeys(student_ids)]


async def do_issue_family_links(
    tx: Transaction, org: OrgContext, settings: Settings, students: Sequence[Student], *, expires_in_s: int,
) -> list[FamilyLink]:
    """A new single-use link for each child (the caller may change their class's roster); their earlier unused ones are withdrawn."""
    subject_ids = [s.id for s in students]
    await do_withdraw_sign_in_links(tx, org.principal, kind=KIND, subject_ids=subject_ids)
    issued = await do_issue_sign_in_links(tx, org, settings, kind=KIND, subject_ids=subject_ids, expires_in_s=expires_in_s, max_uses=1)
    return [
        FamilyLink(student.id, student.name, link.id, sign_in_link_url(settings, token), link.expires_at)
        for student, (token, link) in zip(students, issued, strict=True)
    ]


async def qr_codes(urls: Sequence[str]) -> list[str]:
    """Each URL's QR code as an SVG ``data:`` URI (~2.7 kB), drawn off the event loop: ~15 ms of CPU each, a class of 40 in half a second."""
    def draw() -> list[str]:
        return [f"data:image/svg+xml;base64,{base64.b64encode(qr_image(url, 'svg')).decode()}" for url in urls]

    return await asyncio.to_thread(draw)


async def _child_on_roll(tx: Transaction, link: SignInLink) -> tuple[Student, str]:
    row = (await tx.session.execute(
        select(Student, Department.path).join(Department, Department.id == Student.class_id)
        .where(Student.id == link.subject_id, Student.archived_at.is_(None))
    )).first()
    if row is None:
        raise Gone(NOT_ON_THE_ROLL, field="token")
    return row[0], row[1]


async def describe(tx: Transaction, link: SignInLink, locale: str) -> str:
    student, path = await _child_on_roll(tx, link)
    place = await class_place(tx, path)
    return translate(locale, "join {class_name}, {school}, as a guardian of {child}", class_name=place.class_name, school=place.school,
                     child=student.name)


async def redeem(tx: Transaction, link: SignInLink, name: str | None, answers: dict[str, str]) -> SignInGrant:
    """A new account for whoever opened the link, made a guardian of its child (with the relation they gave) and put in the class group."""
    student, _ = await _child_on_roll(tx, link)
    name = clean_display_name(name or "", field="name")
    relation = clean_relation(answers.get("relation"), field="answers.relation")
    user = await do_create_user(tx, name=name, email=None)
    key = GuardianEntry(name, None, relation).match_key(student.external_id)
    guardian = await tx.session.scalar(select(Guardian).where(Guardian.match_key == key))
    if guardian is None or guardian.user_id is not None:  # someone of that name signed in already: another person
        guardian = Guardian(org_id=tx.org_id, name=name, phone=None, match_key=key if guardian is None else f"~account/{user.id}")
        tx.session.add(guardian)
    guardian.user_id = user.id
    await tx.session.flush()
    await do_link(tx, [(student.id, guardian.id, relation)])
    await do_follow_rosters(tx, [student.class_id], strict=False)
    await do_audit(tx, Someone(user.id, user.name), "schools.guardian_joined", target=("student", student.id),
                   details={"guardian_id": guardian.id, "sign_in_link_id": link.id})
    return SignInGrant(user, landing_url=family_page(tx.org_id))


RELATION = LinkQuestion(
    "relation", _("Your relation to the child"), max_length=RELATION_MAX, hint=_("mother, father, grandmother…"),
    missing=_("say how you are related to the child: mother, father, grandmother…"),
)
register_sign_in_link(KIND, SignInLinkKind(describe, redeem, questions=(RELATION,)))
