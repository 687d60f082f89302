"""Checking one row of each table in Python, before any database work: the first problem rejects the whole row,
named by its column, and the other rows go on (the member import's rule, server/orgs/imports/rows.py)."""
from __future__ import annotations

from dataclasses import dataclass

from server.errors import InvalidInput
from server.orgs.departments import check_department_name
from server.orgs.member_fields import clean_display_name, clean_email, clean_phone, clean_title
from schools.guardians import GuardianEntry, clean_guardian
from schools.imports.tables import GUARDIANS
from schools.roles import check_subject
from schools.units import LEVEL_MAX, check_external_id, check_kind, check_level

STAFF_ROLES = ("bureau_staff", "district_staff", "school_admin", "teacher")
GUARDIAN_COLUMNS = [(f"guardian{i}_name", f"guardian{i}_phone", f"guardian{i}_relation", f"guardian{i}_") for i in range(1, GUARDIANS + 1)]
# The kind of unit a staff member of each role works in (their membership's department).
STAFF_UNIT_KIND = {"bureau_staff": "bureau", "district_staff": "district", "school_admin": "school", "teacher": "school"}


@dataclass(frozen=True, slots=True)
class UnitRow:
    number: int
    external_id: str
    kind: str
    name: str
    parent: str | None  # the parent's external id; None: the bureau
    level: int | None


@dataclass(frozen=True, slots=True)
class StaffRow:
    number: int
    external_id: str
    name: str
    phone: str | None
    email: str | None
    title: str
    unit: str | None  # None: the bureau
    role: str
    head_teacher_of: tuple[str, ...]
    subject_teacher_of: tuple[str, ...]
    subject: str


@dataclass(frozen=True, slots=True)
class StudentRow:
    number: int
    external_id: str
    name: str
    class_external_id: str
    guardians: tuple[GuardianEntry, ...]


def _required_id(cells: dict[str, str], column: str = "external_id") -> str:
    value = check_external_id(cells.get(column), column)
    if value is None:
        raise InvalidInput("{column} is required: it is how a later import finds this row again", field=column, column=column)
    return value


def _level(text: str) -> int | None:
    if not text:
        return None
    try:
        return check_level(int(float(text)))
    except ValueError:
        raise InvalidInput("a level is a school year from 1 to {level_max}", field="level", level_max=LEVEL_MAX) from None


def check_unit(number: int, cells: dict[str, str]) -> UnitRow:
    external_id = _required_id(cells)
    kind = check_kind(cells.get("kind", ""))
    name = check_department_name(cells.get("name", ""))
    parent = check_external_id(cells.get("parent"), "parent")
    if kind == "bureau" and parent is not None:
        raise InvalidInput("the bureau is the top of the hierarchy and has no parent", field="parent")
    level = _level(cells.get("level", ""))
    if kind == "grade" and level is None:
        raise InvalidInput("a grade needs its level (1 for the first school year)", field="level")
    return UnitRow(number, external_id, kind, name, parent, level if kind in ("grade", "class") else None)


def _id_list(text: str, column: str) -> tuple[str, ...]:
    ids = tuple(dict.fromkeys(part.strip() for part in text.replace(",", ";").split(";") if part.strip()))
    for value in ids:
        check_external_id(value, column)
    return ids


def check_staff(number: int, cells: dict[str, str], *, region: str) -> StaffRow:
    role = cells.get("role", "").strip().lower()
    if role not in STAFF_ROLES:
        raise InvalidInput("role must be one of {roles}, not '{value}'", field="role", roles=", ".join(STAFF_ROLES), value=role[:40])
    head, subject = _id_list(cells.get("head_teacher_of", ""), "head_teacher_of"), _id_list(cells.get("subject_teacher_of", ""), "subject_teacher_of")
    if role != "teacher" and (head or subject):
        raise InvalidInput("only teachers teach classes; this row's role is {role}", field="head_teacher_of" if head else "subject_teacher_of", role=role)
    return StaffRow(
        number=number,
        external_id=_required_id(cells),
        name=clean_display_name(cells.get("name", ""), field="name"),
        phone=clean_phone(cells.get("phone"), region),
        email=clean_email(cells.get("email")),
        title=clean_title(cells.get("title")),
        unit=check_external_id(cells.get("unit"), "unit"),
        role=role,
        head_teacher_of=head,
        subject_teacher_of=subject,
        subject=check_subject(cells.get("subject")),
    )


def check_student(number: int, cells: dict[str, str], *, region: str) -> StudentRow:
    external_id = _required_id(cells)
    name = clean_display_name(cells.get("name", ""), field="name")
    class_external_id = _required_id(cells, "class")
    guardians = []
    for name_column, phone_column, relation_column, prefix in GUARDIAN_COLUMNS:
        name_, phone, relation = cells.get(name_column, ""), cells.get(phone_column, ""), cells.get(relation_column, "")
        if name_ or phone or relation:
            guardians.append(clean_guardian(name_, phone, relation, region=region, prefix=prefix))
    keys = [g.match_key(external_id) for g in guardians]
    if len(set(keys)) != len(keys):
        raise InvalidInput("the same guardian is given twice for this child", field="guardian2_phone")
    return StudentRow(number, external_id, name, class_external_id, tuple(guardians))
