"""Organisations API: organisations, their department tree, members and directory, member import."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from server.accounts.models import User
from server.api import endpoint, path_int
from server.appkeys import DB, PRINCIPAL, SETTINGS
from server.audit.record import Someone, do_audit
from server.i18n import request_locale
from server.orgs.access import OrgContext, admitting_orgs
from server.orgs.actions import check_may_create_org, do_create_org, do_update_org
from server.orgs.departments import (
    do_create_department,
    do_delete_department,
    direct_member_count,
    do_update_department,
    get_department,
    list_departments,
)
from server.orgs.directory import search_directory
from server.orgs.imports.limits import ImportLimits
from server.orgs.imports.run import do_import_members
from server.orgs.imports.upload import received_file
from server.orgs.invitations import (
    do_accept_invitation,
    do_decline_invitation,
    do_invite_member,
    do_withdraw_invitation,
    invitation_org,
    list_invitations_of,
)
from server.orgs.members import MemberDetails, do_add_member, do_remove_member, do_update_member, get_member
from server.orgs.models import Department, MemberInvitation, Membership, Organisation
from server.orgs.schemas import (
    OrgPatchIn,
    DepartmentIn,
    DepartmentOut,
    DepartmentPatchIn,
    DepartmentRef,
    ImportErrorOut,
    ImportReportOut,
    InvitationOut,
    MemberIn,
    MemberOut,
    MemberPageOut,
    MemberPatchIn,
    MembersQuery,
    MyInvitationOut,
    MyOrgOut,
    OrgIn,
    OrgOut,
)

routes = web.RouteTableDef()


@routes.post("/api/v1/orgs")
@endpoint(body=OrgIn, response=OrgOut, status=201)
async def create_org(request: web.Request, body: OrgIn) -> OrgOut:
    """Create an organisation; the caller becomes its owner (operators only, unless MUSTER_ORG_CREATION=anyone)."""
    async with request.app[DB].transaction() as tx:
        owner = await tx.session.get(User, request[PRINCIPAL].user_id)
        check_may_create_org(request.app[SETTINGS], owner)
        org = await do_create_org(tx, name=body.name, slug=body.slug, owner=owner, time_zone=request.app[SETTINGS].default_time_zone)
    return OrgOut.model_validate(org)


@routes.get("/api/v1/orgs")
@endpoint(response=list[MyOrgOut])
async def list_my_orgs(request: web.Request) -> list[MyOrgOut]:
    """The organisations the caller belongs to, with their role in each."""
    async with request.app[DB].transaction() as tx:
        rows = await tx.session.execute(
            select(Organisation, Membership.role)
            .join(Membership, Membership.org_id == Organisation.id)
            .where(Membership.user_id == request[PRINCIPAL].user_id)
            .order_by(Organisation.name)
        )
        return [MyOrgOut(id=o.id, name=o.name, slug=o.slug, time_zone=o.time_zone, phone_sign_in=o.phone_sign_in, role=role) for o, role in rows]


@routes.get("/api/v1/me/outsider-orgs")
@endpoint(response=list[OrgOut])
async def list_outsider_orgs(request: web.Request) -> list[OrgOut]:
    """The organisations that admit the caller as an outsider (a school's guardian, an external contact) and have
    them as no member: where such a person lands (``/home``, the shell, with the places open to outsiders)."""
    user_id = request[PRINCIPAL].user_id
    async with request.app[DB].transaction() as tx:
        admitting = await admitting_orgs(tx, user_id)
        if not admitting:
            return []
        member_of = select(Membership.org_id).where(Membership.user_id == user_id)
        orgs = await tx.session.scalars(
            select(Organisation).where(Organisation.id.in_(admitting), Organisation.id.not_in(member_of)).order_by(Organisation.name))
        return [OrgOut.model_validate(o) for o in orgs]


@routes.get("/api/v1/orgs/{org_id}")
@endpoint(response=OrgOut, auth="any")
async def get_org(request: web.Request, org: OrgContext) -> OrgOut:
    """One organisation the caller belongs to (or was invited into as a guest)."""
    async with request.app[DB].transaction() as tx:
        return OrgOut.model_validate(await tx.session.get(Organisation, org.org_id))


@routes.patch("/api/v1/orgs/{org_id}")
@endpoint(body=OrgPatchIn, response=OrgOut, role="admin")
async def update_org(request: web.Request, body: OrgPatchIn, org: OrgContext) -> OrgOut:
    """Rename the organisation, change its time zone, or offer or stop sign-in by phone (admins)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        actor = Someone(request[PRINCIPAL].user_id, request[PRINCIPAL].name)
        org_row = await do_update_org(tx, actor, org.org_id, name=body.name, time_zone=body.time_zone, phone_sign_in=body.phone_sign_in)
        return OrgOut.model_validate(org_row)


def department_out(department: Department, member_count: int) -> DepartmentOut:
    return DepartmentOut(
        id=department.id, name=department.name, parent_id=department.parent_id, path=department.path, member_count=member_count
    )


@routes.get("/api/v1/orgs/{org_id}/departments")
@endpoint(response=list[DepartmentOut])
async def list_org_departments(request: web.Request, org: OrgContext) -> list[DepartmentOut]:
    """The whole department tree as a flat list, parents before children, with direct member counts."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        return [department_out(d, n) for d, n in await list_departments(tx)]


@routes.post("/api/v1/orgs/{org_id}/departments")
@endpoint(body=DepartmentIn, response=DepartmentOut, status=201, role="admin")
async def create_department(request: web.Request, body: DepartmentIn, org: OrgContext) -> DepartmentOut:
    """Add a department at the top level or under ``parent_id``."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        department = await do_create_department(tx, name=body.name, parent_id=body.parent_id)
    return department_out(department, 0)


@routes.patch("/api/v1/orgs/{org_id}/departments/{department_id}")
@endpoint(body=DepartmentPatchIn, response=DepartmentOut, role="admin")
async def update_department(request: web.Request, body: DepartmentPatchIn, org: OrgContext) -> DepartmentOut:
    """Rename a department, or move it with everything under it (``parent_id``: null for the top level)."""
    department_id = path_int(request, "department_id")
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        department = await do_update_department(
            tx, department_id, name=body.name, move="parent_id" in body.model_fields_set, parent_id=body.parent_id
        )
        return department_out(department, await direct_member_count(tx, department.id))


@routes.delete("/api/v1/orgs/{org_id}/departments/{department_id}")
@endpoint(status=204, role="admin")
async def delete_department(request: web.Request, org: OrgContext) -> None:
    """Delete an empty department (no members, no sub-departments): 409 otherwise."""
    department_id = path_int(request, "department_id")
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await do_delete_department(tx, department_id)


def member_out(member: Membership, department_name: str | None) -> MemberOut:
    department = DepartmentRef(id=member.department_id, name=department_name) if member.department_id is not None else None
    return MemberOut(
        id=member.id,
        user_id=member.user_id,
        display_name=member.display_name,
        phone=member.phone,
        email=member.email,
        title=member.title,
        role=member.role,
        department=department,
    )


async def _member_out(tx, member: Membership) -> MemberOut:
    department = await get_department(tx, member.department_id) if member.department_id is not None else None
    return member_out(member, department.name if department else None)


@routes.get("/api/v1/orgs/{org_id}/members")
@endpoint(query=MembersQuery, response=MemberPageOut)
async def list_members(request: web.Request, query: MembersQuery, org: OrgContext) -> MemberPageOut:
    """The directory: search by name, email or phone, filter by department (with its sub-departments), page by cursor."""
    region = request.app[SETTINGS].default_phone_region
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        entries, next_cursor = await search_directory(tx, query, phone_region=region)
    return MemberPageOut(items=[member_out(e.member, e.department_name) for e in entries], next_cursor=next_cursor)


@routes.get("/api/v1/orgs/{org_id}/members/{member_id}")
@endpoint(response=MemberOut)
async def get_org_member(request: web.Request, org: OrgContext) -> MemberOut:
    """One member of the directory."""
    member_id = path_int(request, "member_id")
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        return await _member_out(tx, await get_member(tx, member_id))


@routes.post("/api/v1/orgs/{org_id}/members")
@endpoint(body=MemberIn, response=MemberOut, status=201, role="admin")
async def add_member(request: web.Request, body: MemberIn, org: OrgContext) -> MemberOut:
    """Add a new person, with a new account without a password (409 ``needs_consent`` if the email has one: invite it instead)."""
    region = request.app[SETTINGS].default_phone_region
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        member = await do_add_member(tx, org, MemberDetails(**body.model_dump()), phone_region=region)
        return await _member_out(tx, member)


@routes.patch("/api/v1/orgs/{org_id}/members/{member_id}")
@endpoint(body=MemberPatchIn, response=MemberOut, role="admin")
async def update_member(request: web.Request, body: MemberPatchIn, org: OrgContext) -> MemberOut:
    """Change how the organisation lists a person, their department or role (owners: only by an owner)."""
    member_id = path_int(request, "member_id")
    region = request.app[SETTINGS].default_phone_region
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        member = await do_update_member(tx, org, member_id, body.model_dump(exclude_unset=True), phone_region=region)
        return await _member_out(tx, member)


@routes.delete("/api/v1/orgs/{org_id}/members/{member_id}")
@endpoint(status=204, role="admin")
async def remove_member(request: web.Request, org: OrgContext) -> None:
    """Take a person out of the organisation; their account stays."""
    member_id = path_int(request, "member_id")
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await do_remove_member(tx, org, member_id)


@routes.post("/api/v1/orgs/{org_id}/invitations")
@endpoint(body=MemberIn, response=InvitationOut, status=201, role="admin")
async def invite_member(request: web.Request, body: MemberIn, org: OrgContext) -> InvitationOut:
    """Invite the existing account with this email; it joins, listed like this, once its owner accepts."""
    region = request.app[SETTINGS].default_phone_region
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        invitation = await do_invite_member(tx, org, MemberDetails(**body.model_dump()), phone_region=region)
        return InvitationOut.model_validate(invitation)


@routes.get("/api/v1/orgs/{org_id}/invitations")
@endpoint(response=list[InvitationOut], role="admin")
async def list_org_invitations(request: web.Request, org: OrgContext) -> list[InvitationOut]:
    """Invitations not yet accepted or declined."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        return [InvitationOut.model_validate(i) for i in await tx.session.scalars(select(MemberInvitation).order_by(MemberInvitation.id))]


@routes.delete("/api/v1/orgs/{org_id}/invitations/{invitation_id}")
@endpoint(status=204, role="admin")
async def withdraw_invitation(request: web.Request, org: OrgContext) -> None:
    """Withdraw an invitation not yet accepted."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await do_withdraw_invitation(tx, org, path_int(request, "invitation_id"))


@routes.get("/api/v1/invitations")
@endpoint(response=list[MyInvitationOut])
async def list_my_invitations(request: web.Request) -> list[MyInvitationOut]:
    """Organisations that asked the caller to join them."""
    async with request.app[DB].transaction() as tx:
        return [
            MyInvitationOut(id=i.id, org_id=o.id, org_name=o.name, role=i.role, display_name=i.display_name, created_at=i.created_at)
            for i, o in await list_invitations_of(tx, request[PRINCIPAL].user_id)
        ]


@routes.post("/api/v1/invitations/{invitation_id}/accept")
@endpoint(response=MyOrgOut)
async def accept_invitation(request: web.Request) -> MyOrgOut:
    """Join the organisation that invited the caller."""
    user_id, invitation_id = request[PRINCIPAL].user_id, path_int(request, "invitation_id")
    org_id = await invitation_org(request.app[DB], user_id, invitation_id)
    async with request.app[DB].transaction(org_id=org_id) as tx:
        member = await do_accept_invitation(tx, user_id, invitation_id)
        org = await tx.session.get(Organisation, org_id)
        return MyOrgOut(id=org.id, name=org.name, slug=org.slug, time_zone=org.time_zone, phone_sign_in=org.phone_sign_in, role=member.role)


@routes.post("/api/v1/invitations/{invitation_id}/decline")
@endpoint(status=204)
async def decline_invitation(request: web.Request) -> None:
    """Say no: the invitation is gone and the organisation may ask again."""
    user_id, invitation_id = request[PRINCIPAL].user_id, path_int(request, "invitation_id")
    org_id = await invitation_org(request.app[DB], user_id, invitation_id)
    async with request.app[DB].transaction(org_id=org_id) as tx:
        await do_decline_invitation(tx, user_id, invitation_id)


@routes.post("/api/v1/orgs/{org_id}/imports")
@endpoint(response=ImportReportOut, role="admin")
async def import_members(request: web.Request, org: OrgContext) -> ImportReportOut:
    """Import members from a CSV or XLSX file (multipart field ``file``), matched by external_id.

    Columns: external_id and name (required), email, phone, department ("Surgery/Ward 3",
    created if missing), title, role. Rows with problems are reported by row number,
    in the caller's language; the others are imported.
    """
    settings = request.app[SETTINGS]
    locale = request_locale(request)
    async with received_file(request, max_bytes=settings.max_import_bytes) as path:
        report = await do_import_members(
            request.app[DB], org.org_id, path, phone_region=settings.default_phone_region, limits=ImportLimits.of(settings)
        )
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        counts = {"rows": report.rows, "created": report.created, "updated": report.updated, "failed": report.failed}
        await do_audit(tx, org.principal, "members.imported", details=counts)
    return ImportReportOut(
        created=report.created,
        updated=report.updated,
        invited=report.invited,
        failed=report.failed,
        errors=[ImportErrorOut(row=e.row, field=e.field, message=e.text(locale)) for e in report.errors],
    )


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
