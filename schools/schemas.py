"""Request and response bodies of the schools API."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from server.api import Id, Model, Out
from schools.family_links import MAX_LINKS
from schools.models import EXTERNAL_ID_MAX, NAME_MAX, RELATION_MAX, SUBJECT_MAX, UNIT_KINDS, UNIT_ROLES
from schools.paging import PageQuery
from schools.models import ROLLOVER_LABEL_MAX as LABEL_MAX
from schools.units import LEVEL_MAX

UnitKind = Literal[UNIT_KINDS]  # type: ignore[valid-type]
UnitRoleName = Literal[UNIT_ROLES]  # type: ignore[valid-type]
Level = Field(None, ge=1, le=LEVEL_MAX, description="Grades and classes: the school year, 1 for the first.")


class UnitRef(Out):
    id: int
    name: str
    kind: str


class CountsOut(Out):
    classes: int
    students: int = Field(description="On the roll (not archived).")
    staff: int = Field(description="People with a role at or under the unit.")


class UnitOut(Out):
    id: int
    kind: str
    name: str
    external_id: str | None
    level: int | None
    parent_id: int | None
    archived: bool
    counts: CountsOut


class UnitDetailOut(UnitOut):
    guardians: int = Field(description="Distinct guardians of the students on the roll at and under the unit.")
    trail: list[UnitRef] = Field(description="The units from the top down to this one.")
    group_id: int | None = Field(description="A class's group, once made.")


class UnitPageOut(Out):
    units: list[UnitOut]
    next_after_id: int | None


class UnitsQuery(PageQuery):
    parent_id: Id | None = Field(None, description="The units right under this one; without it, the tops of what you reach.")


class UnitIn(Model):
    kind: UnitKind
    name: str = Field(min_length=1, max_length=NAME_MAX)
    parent_id: Id | None = Field(None, description="The unit above (none only for the bureau).")
    external_id: str | None = Field(None, max_length=EXTERNAL_ID_MAX, description="The bureau's own id for it: how an import finds it again.")
    level: int | None = Level


class UnitPatchIn(Model):
    name: str | None = Field(None, min_length=1, max_length=NAME_MAX)
    external_id: str | None = Field(None, max_length=EXTERNAL_ID_MAX)
    level: int | None = Level


class StudentsQuery(PageQuery):
    include_archived: bool = Field(False, description="Departed and graduated children too.")


class StudentOut(Out):
    id: int
    external_id: str
    name: str
    class_id: int | None
    archived_at: dt.datetime | None
    archived_reason: str | None = Field(description="departed or graduated; null while on the roll.")


class StudentPageOut(Out):
    students: list[StudentOut]
    next_after_id: int | None


class GuardianIn(Model):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    phone: str | None = Field(None, max_length=40, description="Read in the server's default region unless it starts with +country code.")
    relation: str = Field("", max_length=RELATION_MAX, description="'mother', 'grandfather'...")


class StudentIn(Model):
    external_id: str = Field(min_length=1, max_length=EXTERNAL_ID_MAX)
    name: str = Field(min_length=1, max_length=NAME_MAX)
    class_id: Id
    guardians: list[GuardianIn] = Field(default_factory=list, max_length=8)


class StudentPatchIn(Model):
    name: str | None = Field(None, min_length=1, max_length=NAME_MAX)
    external_id: str | None = Field(None, min_length=1, max_length=EXTERNAL_ID_MAX)
    class_id: Id | None = Field(None, description="A transfer to this class (in any school you reach); the child's guardians stay.")
    archived: bool | None = Field(None, description="true: the child has left (departed); false: back on the roll.")


class StudentGuardianOut(Out):
    id: int
    name: str
    phone: str | None
    relation: str
    has_account: bool


class StudentDetailOut(StudentOut):
    trail: list[UnitRef] = Field(description="The child's class and the units above it.")
    guardians: list[StudentGuardianOut]


class GuardianPatchIn(Model):
    name: str | None = Field(None, min_length=1, max_length=NAME_MAX)
    phone: str | None = Field(None, max_length=40, description="null removes it.")


class GuardianChildOut(Out):
    student_id: int
    name: str
    relation: str
    trail: list[UnitRef]


class GuardianOut(Out):
    id: int
    name: str
    phone: str | None
    has_account: bool
    children: list[GuardianChildOut] = Field(description="Those of their children you reach.")


class RoleIn(Model):
    user_id: Id = Field(description="A member of the organisation.")
    role: UnitRoleName
    subject: str = Field("", max_length=SUBJECT_MAX, description="A subject teacher's subject.")


class RoleOut(Out):
    id: int
    unit_id: int
    unit_name: str
    user_id: int
    name: str
    role: str
    subject: str


class StaffPageOut(Out):
    roles: list[RoleOut]
    next_after_id: int | None


class ClassGroupOut(Out):
    group_id: int
    created: bool = Field(description="false: the class had its group already.")


class TransferIn(Model):
    student_id: Id
    class_id: Id


class RolloverIn(Model):
    label: str = Field(min_length=1, max_length=LABEL_MAX, description="The school year that ends ('2024-2025'): graduated classes keep it in their name.")
    final_level: int | None = Field(None, ge=1, le=LEVEL_MAX, description="The level that graduates; by default each school's highest grade.")
    transfers: list[TransferIn] = Field(default_factory=list, max_length=10_000)


class RolloverJobOut(Out):
    id: int = Field(description="The job: GET .../schools/rollovers/{id} says how far it got.")
    status: str = Field(description="running, done, failed, or interrupted (its server stopped: run it again to finish).")
    unit_id: int | None
    label: str
    schools_total: int = Field(description="Schools at or under the unit.")
    schools: int = Field(description="Schools rolled over by this run.")
    already: list[int] = Field(description="Schools rolled over for this label before, left alone.")
    promoted: int
    graduated_classes: int
    graduated_students: int
    transferred: int
    grades_made: int
    unlevelled: list[int] = Field(description="Classes without a level, left where they were.")
    blocked: list[int] = Field(description="Classes whose next grade had a class of their name, left where they were.")
    failure: str | None = Field(description="Why it stopped, if it did.")
    created_at: dt.datetime
    finished_at: dt.datetime | None


class MyRoleOut(Out):
    unit: UnitRef
    role: str
    subject: str


class MyChildOut(Out):
    student_id: int
    name: str
    relation: str
    trail: list[UnitRef]
    group_id: int | None = Field(description="Their class's group, if it has one.")


class SchoolsMeOut(Out):
    everything: bool = Field(description="An organisation admin: the whole hierarchy.")
    roles: list[MyRoleOut]
    children: list[MyChildOut] = Field(description="Children you are a guardian of, on the roll.")


class FamilyLinksIn(Model):
    student_ids: list[Id] | None = Field(None, min_length=1, max_length=MAX_LINKS, description="Children of the class; without it, every child on its roll.")
    expires_in_s: int = Field(14 * 86400, ge=3600, description="How long each link stays valid (at most MUSTER_SIGN_IN_LINK_MAX_DAYS).")


class FamilyLinkOut(Out):
    student_id: int
    name: str = Field(description="The child's name.")
    link_id: int = Field(description="Withdraw it with DELETE /api/v1/orgs/{org_id}/sign-in-links/{sign_in_link_id}.")
    url: str = Field(description="Shown only in this answer.")
    qr: str = Field(description="The link's QR code, an SVG image as a data: URI.")
    expires_at: dt.datetime


class FamilyLinksOut(Out):
    class_id: int
    class_name: str = Field(description="The class as its families read it: the units under its school ('Grade 1 Class 2').")
    school: str
    links: list[FamilyLinkOut]
    phone_sign_in_url: str | None = Field(description="Where guardians with a phone on file sign in with a code instead, if the organisation offers it.")
