"""Request and response bodies of the organisations API."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from server.api import Id, Model, Out
from server.i18n.time_zones import TimeZone


class OrgIn(Model):
    name: str = Field(min_length=1, max_length=200)
    slug: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")


class OrgPatchIn(Model):
    name: str | None = Field(None, min_length=1, max_length=200)
    time_zone: TimeZone | None = Field(None, description="IANA time zone name, e.g. Asia/Shanghai: dates and 'today' are read in it.")
    phone_sign_in: bool | None = Field(None, description="Whether its people may sign in with their phone number and a code sent by SMS (each counts against its SMS allowance).")


class OrgOut(Out):
    id: int
    name: str
    slug: str
    time_zone: str
    phone_sign_in: bool


class MyOrgOut(OrgOut):
    role: str


class DepartmentIn(Model):
    name: str = Field(min_length=1, max_length=200)
    parent_id: Id | None = Field(None, description="The parent department; none for the top level.")


class DepartmentPatchIn(Model):
    """Rename and/or move: a ``parent_id`` given (null for the top level) moves the department with its branch."""

    name: str | None = Field(None, min_length=1, max_length=200)
    parent_id: Id | None = None


class DepartmentOut(Out):
    id: int
    name: str
    parent_id: int | None
    path: str = Field(description="Ids from the top of the tree down to this department, '/1/5/9/'.")
    member_count: int = Field(description="People directly in this department (not in its sub-departments).")


class MembersQuery(Model):
    q: str = Field("", max_length=200, description="Part of a name or email (any case), or a phone number or part of one (any formatting).")
    department_id: Id | None = None
    include_subdepartments: bool = True
    cursor: str | None = Field(None, max_length=1000, description="next_cursor of the previous page.")
    limit: int = Field(50, ge=1, le=200)


class MemberIn(Model):
    display_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=64, description="Any formatting; without +country code it is read in the server's default region.")
    title: str | None = Field(None, max_length=200)
    department_id: Id | None = None
    role: Literal["member", "admin", "owner"] = "member"
    external_id: str | None = Field(None, max_length=128, description="The organisation's own id (HR number); imports match people by it.")


class MemberPatchIn(Model):
    """Only the fields sent change; null clears an optional field."""

    display_name: str | None = Field(None, min_length=1, max_length=200)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=64)
    title: str | None = Field(None, max_length=200)
    department_id: Id | None = None
    role: Literal["member", "admin", "owner"] | None = None
    external_id: str | None = Field(None, max_length=128)


class DepartmentRef(Out):
    id: int
    name: str


class MemberOut(Out):
    id: int
    user_id: int
    display_name: str
    phone: str | None
    email: str | None
    title: str
    role: str
    department: DepartmentRef | None


class MemberPageOut(Out):
    items: list[MemberOut]
    next_cursor: str | None


class InvitationOut(Out):
    """An existing account asked to join; it becomes a member (listed like this) once it accepts."""

    id: int
    user_id: int
    display_name: str
    email: str | None
    phone: str | None
    title: str
    role: str
    department_id: int | None
    created_at: dt.datetime


class MyInvitationOut(Out):
    """An organisation that asked the caller to join it."""

    id: int
    org_id: int
    org_name: str
    role: str
    display_name: str = Field(description="How the organisation would list the caller.")
    created_at: dt.datetime


class ImportErrorOut(Out):
    row: int | None = Field(description="Row number as a spreadsheet shows it (the header is row 1).")
    field: str | None
    message: str


class ImportReportOut(Out):
    created: int
    updated: int
    invited: int = Field(description="Rows whose email already has an account: it is invited, and joins once it accepts.")
    failed: int = Field(description="Rows not imported; ``errors`` lists the first of them.")
    errors: list[ImportErrorOut]
