"""Tables of schools: which departments are units of the hierarchy, students, guardians, scoped roles, class groups, import jobs.

The hierarchy itself is the platform's department tree (server/orgs/departments.py):
a unit is a department with a ``school_units`` row saying its kind, so "a unit and
everything under it" is the departments' path prefix, and a unit's id is its
department's id. Students and guardians are rows, not members: see schools/DESIGN.md.

A city imports half a million children, guardians and links at once, and every
index and foreign key is work on each of those rows (a foreign key's check costs
about as much as the row's insert). So the three large tables keep ``org_id``
without the mixin's index of its own (their unique and roll-up indexes start
with it), and a link keeps it without a foreign key: a link goes with its child
(and its guardian), who go with their organisation.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, BigId, JSONType, OrgScoped, UTCDateTime, utcnow

UNIT_KINDS = ("bureau", "district", "school", "grade", "class")
# A unit's kind → the kinds its parent may have (the bureau is the top of the hierarchy).
PARENT_KINDS = {"bureau": (), "district": ("bureau",), "school": ("bureau", "district"), "grade": ("school",), "class": ("grade", "school")}
UNIT_ROLES = ("bureau_staff", "district_staff", "school_admin", "head_teacher", "subject_teacher", "health_officer")
# The kinds of unit each role is held on.
ROLE_UNIT_KINDS = {
    "bureau_staff": ("bureau",), "district_staff": ("district",), "school_admin": ("school",), "head_teacher": ("class",),
    "subject_teacher": ("class",), "health_officer": ("bureau", "district", "school"),
}
IMPORTED_ROLES = frozenset(UNIT_ROLES) - {"health_officer"}  # the roles a staff row gives (and takes away); the others are given one by one
ARCHIVE_REASONS = ("departed", "graduated")
EXTERNAL_ID_MAX = 128
NAME_MAX = 200
SUBJECT_MAX = 100
RELATION_MAX = 32
ROLLOVER_LABEL_MAX = 40


class SchoolUnit(OrgScoped, Base):
    """A department that is a unit of the school hierarchy, its kind and the bureau's own id for it."""

    __tablename__ = "school_units"
    __table_args__ = (
        UniqueConstraint("org_id", "external_id", name="uq_school_units_org_external_id"),
        Index("ix_school_units_org_kind", "org_id", "kind"),
    )

    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(EXTERNAL_ID_MAX))
    level: Mapped[int | None] = mapped_column(SmallInteger)  # grades and classes: the school year, 1 for the first
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # a class that graduated
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Student(OrgScoped, Base):
    """A child: a row, not an account. Archived (departed, graduated), never deleted by an import or a rollover."""

    __tablename__ = "school_students"
    __table_args__ = (
        UniqueConstraint("org_id", "external_id", name="uq_school_students_org_external_id"),
        Index("ix_school_students_org_class", "org_id", "class_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))  # indexed by the indexes above
    external_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_MAX))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    class_id: Mapped[int | None] = mapped_column(ForeignKey("school_units.department_id", ondelete="SET NULL"))
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    archived_reason: Mapped[str | None] = mapped_column(String(16))  # departed | graduated
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Guardian(OrgScoped, Base):
    """A parent or carer, found again by ``match_key``: their phone (E.164), or, without one, the child and their name.

    ``user_id`` is their account (made by the import for a guardian with a phone), with which they
    sign in; it is not a membership (schools/outsiders.py admits them).
    """

    __tablename__ = "school_guardians"
    __table_args__ = (
        UniqueConstraint("org_id", "match_key", name="uq_school_guardians_org_match_key"),
        Index("ix_school_guardians_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))  # indexed by its unique key
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    phone: Mapped[str | None] = mapped_column(String(32))
    match_key: Mapped[str] = mapped_column(String(EXTERNAL_ID_MAX + NAME_MAX + 2))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StudentGuardian(OrgScoped, Base):
    """A child's guardian and how they are related ("mother", "grandfather"); many to many."""

    __tablename__ = "school_student_guardians"
    __table_args__ = (Index("ix_school_student_guardians_guardian", "guardian_id"),)

    student_id: Mapped[int] = mapped_column(ForeignKey("school_students.id", ondelete="CASCADE"), primary_key=True)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("school_guardians.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[int] = mapped_column(BigId)  # no foreign key: a link goes with its child and its guardian
    relation: Mapped[str] = mapped_column(String(RELATION_MAX), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class UnitRole(OrgScoped, Base):
    """A member's role on one unit, which is their scope: everything at and under the unit (schools/scope.py)."""

    __tablename__ = "school_unit_roles"
    __table_args__ = (
        UniqueConstraint("unit_id", "user_id", "role", name="uq_school_unit_roles_unit_user_role"),
        Index("ix_school_unit_roles_org_user", "org_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("school_units.department_id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClassGroup(OrgScoped, Base):
    """The group (an external group of server/groups/) that follows a class's roster."""

    __tablename__ = "school_class_groups"
    __table_args__ = (UniqueConstraint("group_id", name="uq_school_class_groups_group_id"),)

    class_id: Mapped[int] = mapped_column(ForeignKey("school_units.department_id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SchoolJob(OrgScoped, Base):
    """One import of the hierarchy or rollover of a school year (schools/jobs.py): its progress while it runs (polled by
    the page), its report once it ends. The table keeps the name it had when imports were its only kind."""

    __tablename__ = "school_import_jobs"
    __table_args__ = (Index("ix_school_import_jobs_org_created", "org_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="import", server_default="import")  # import | rollover
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("school_units.department_id", ondelete="SET NULL"))  # a rollover's unit
    started_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed
    files: Mapped[list] = mapped_column(JSONType, default=list)  # an import's files, by the names they were sent with
    rows_total: Mapped[int] = mapped_column(Integer, default=0)  # an import's rows; a rollover's schools
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict] = mapped_column(JSONType, default=dict)  # counts, row errors...; why it stopped if it failed
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SchoolRollover(OrgScoped, Base):
    """A school's rollover of one school year (its label): what makes a rollover run again for that year do nothing there."""

    __tablename__ = "school_rollovers"
    __table_args__ = (UniqueConstraint("school_id", "label", name="uq_school_rollovers_school_label"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school_units.department_id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(ROLLOVER_LABEL_MAX))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("school_import_jobs.id", ondelete="SET NULL"))
    counts: Mapped[dict] = mapped_column(JSONType, default=dict)  # what it did there: classes promoted, graduated...
    done_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
