"""The ``student`` respondent kind: a form round sent to children and answered by their families (server/forms/respondents.py).

* ``expand``: the children on the roll (not archived) under the audience's
  departments (a class, a school, a district, the bureau, each with everything
  under it) or all of them (``everyone``), each counted under their class: one
  select, so opening a round for a city's 240,000 children is one
  ``INSERT ... SELECT``. Other parts (members, groups) name no children: 400
  naming the part.
* ``answerable`` and ``own``: a guardian answers for their children on the
  roll, in whatever classes and schools; a child none of whose guardians has
  an account (a family without a phone) is answered for by the class's
  teachers and the school's administrators.
* ``reminded``: the guardians' accounts (a join: the reminder adds who is connected, who was told).
* ``describe``: the child's name and a guardian's phone (the first linked with one).
* ``submitter_name_of`` (exports): a guardian by the roll's name, a member by the directory's.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, bindparam, exists, false, func, or_, select, true

from server.audiences.expand import Audience
from server.audiences.kinds import existing, subtrees
from server.db import Transaction
from server.db.one_of import one_of, rows_where_one_of
from server.errors import InvalidInput
from server.forms.respondents import Described, directory_name_of, with_phones, register_respondent_kind
from server.i18n import _
from server.orgs.access import OrgContext
from server.orgs.models import Department
from schools.audiences import PICKER
from schools.models import Guardian, Student, StudentGuardian
from schools.scope import role_paths

STUDENT = "student"
FAMILY_HELPERS = ("head_teacher", "subject_teacher", "school_admin")  # who answers for a family without a phone, where they hold it


_students, _links, _guardians = Student.__table__, StudentGuardian.__table__, Guardian.__table__
# The children on the roll a guardian answers for: every submission asks it (of one child), so it is built once with parameters.
_GUARDED = (
    select(_students.c.id).join(_links, _links.c.student_id == _students.c.id).join(_guardians, _guardians.c.id == _links.c.guardian_id)
    .where(_guardians.c.user_id == bindparam("user_id"), _guardians.c.org_id == bindparam("org_id"), _students.c.archived_at.is_(None))
)
_GUARDED_ONE = _GUARDED.where(_students.c.id == bindparam("student_id"))


def _under(paths: Sequence[str]):
    return or_(false(), *(Department.path.startswith(p, autoescape=True) for p in paths))


class Students:
    async def expand(self, tx: Transaction, audience: Audience) -> Select:
        for name, ids in audience.parts.items():
            if ids and name != "departments":
                raise InvalidInput("a form to children goes to departments (a class, a school, a district) or to everyone, not to {kind}",
                                   field=f"audience.{name}", kind=name)
        on_roll = select(Student.id, func.coalesce(Student.class_id, 0)).where(Student.org_id == tx.org_id, Student.archived_at.is_(None))
        if audience.everyone:
            return on_roll
        named = sorted(set(audience.parts.get("departments", ())))
        found = await existing(tx, Department.id, named) if named else set()
        if unknown := [i for i in named if i not in found]:
            raise InvalidInput("no such {kind} in this organisation: {ids}", field="audience.departments", kind="departments",
                               ids=", ".join(map(str, unknown[:10])))
        classes = one_of(tx, Student.class_id, await subtrees(tx, named)) if named else []  # an array, as the families' audience
        return on_roll.where(or_(*classes) if classes else false())

    async def answerable(self, tx: Transaction, org: OrgContext, respondent_ids: Sequence[int]) -> set[int]:
        return set(await self._answered(tx, org, respondent_ids))

    async def own(self, tx: Transaction, org: OrgContext) -> list[int]:
        return await self._answered(tx, org, None)

    async def _answered(self, tx: Transaction, org: OrgContext, among: Sequence[int] | None) -> list[int]:
        """The children on the roll the caller answers for (``among`` these, if given): their own as a guardian, and those
        without a guardian with an account in the classes they teach or the schools they administer."""
        found: set[int] = set()
        mine = {"user_id": org.user_id, "org_id": org.org_id}
        if among is not None and len(among) == 1:  # a submission's question
            queries = []
            found.update((await tx.run(_GUARDED_ONE, mine | {"student_id": among[0]})).scalars())
        else:
            queries = [_GUARDED]
        if org.membership_id is not None:
            if helped := await role_paths(tx, org.org_id, org.user_id, FAMILY_HELPERS):
                with_account = exists().where(StudentGuardian.student_id == Student.id, Guardian.id == StudentGuardian.guardian_id,
                                              Guardian.user_id.is_not(None))
                queries.append(select(Student.id).join(Department, Department.id == Student.class_id)
                               .where(Student.archived_at.is_(None), _under(helped), ~with_account))
        chosen = one_of(tx, _students.c.id, among) if queries and among is not None else [true()]
        for query in queries:
            for condition in chosen:
                found.update(await tx.session.scalars(query.where(condition), mine))
        return sorted(found)

    def reminded(self, respondents: Select) -> Select:
        return (select(Guardian.user_id.label("user_id"), StudentGuardian.student_id.label("respondent_id"))
                .join(Guardian, Guardian.id == StudentGuardian.guardian_id)
                .where(StudentGuardian.student_id.in_(respondents), Guardian.user_id.is_not(None)))

    async def phones(self, tx: Transaction, user_ids: Sequence[int]) -> dict[int, str]:
        """Guardians' numbers as the roll has them (a guardian is not a member, so not in the directory)."""
        return with_phones(await rows_where_one_of(tx, select(Guardian.user_id, Guardian.phone), Guardian.user_id, user_ids))

    def name_of(self, tx: Transaction, respondent_id: ColumnElement[int]) -> ColumnElement[str]:
        s = Student.__table__.alias("respondent")
        return select(s.c.name).where(s.c.org_id == tx.org_id, s.c.id == respondent_id).scalar_subquery()

    def submitter_name_of(self, tx: Transaction, user_id: ColumnElement[int], respondent_id: ColumnElement[int]) -> ColumnElement[str]:
        """A member (a teacher answering for a family without a phone, a parent on the staff) by the directory's name; a
        guardian, who is not in it, by the roll's: their row linked to the child first (one account may hold several)."""
        g, links = Guardian.__table__.alias("submitter_guardian"), StudentGuardian.__table__.alias("submitter_link")
        linked = exists().where(links.c.guardian_id == g.c.id, links.c.student_id == respondent_id)
        on_roll = (select(g.c.name).where(g.c.org_id == tx.org_id, g.c.user_id == user_id)
                   .order_by(linked.desc(), g.c.id).limit(1).scalar_subquery())
        return func.coalesce(directory_name_of(tx, user_id, "submitter"), on_roll)

    async def describe(self, tx: Transaction, respondent_ids: Sequence[int]) -> dict[int, Described]:
        names: dict[int, str] = {}
        phones: dict[int, str] = {}
        for chosen in one_of(tx, Student.id, respondent_ids):
            names.update((await tx.session.execute(select(Student.id, Student.name).where(chosen))).all())
        for chosen in one_of(tx, StudentGuardian.student_id, respondent_ids):
            rows = await tx.session.execute(
                select(StudentGuardian.student_id, Guardian.phone).join(Guardian, Guardian.id == StudentGuardian.guardian_id)
                .where(chosen, Guardian.phone.is_not(None)).order_by(StudentGuardian.student_id, Guardian.id)
            )
            for student_id, phone in rows:
                phones.setdefault(student_id, phone)
        return {i: Described(name, phones.get(i)) for i, name in names.items()}


register_respondent_kind(STUDENT, Students(), _("Children"), picker=PICKER)  # a round to children picks the hierarchy's units
