"""The schools API: parse, load the caller's scope (schools/scope.py), check it, call the functions that do the work.

Every route is under ``/api/v1/orgs/{org_id}/schools``. A unit, student or
guardian outside the caller's scope is 404, like another organisation's; one
they may read but not change is 403. Guardians reach only ``GET .../schools/me``
(and their class groups, through the groups' routes).
"""
from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import false, or_, select

from server.api import endpoint, path_int
from server.appkeys import DB, SETTINGS
from server.audit.record import do_audit
from server.errors import Forbidden, NotFound
from server.i18n import _, request_locale, translate
from server.orgs.access import OrgContext
from server.orgs.models import Department, Membership, Organisation
from schools.class_groups import class_group_name, do_follow_rosters, do_make_class_group
from schools.family_links import children_to_invite, class_place, do_issue_family_links, family_page, qr_codes
from schools.guardians import clean_guardian, do_update_guardian, guardian_in_scope
from schools.jobs import do_start_job, job_status, run_job, start_task
from schools.models import ClassGroup, Guardian, SchoolJob, SchoolUnit, Student, StudentGuardian, UnitRole
from schools.outsiders import guardian_of_active_students
from schools.paging import cut_page
from schools.roles import do_assign_role, do_remove_role, list_staff
from schools.rollover import RolloverReport, Transfer, check_label, check_transfers, do_rollover
from schools.rollups import guardian_count, rollups
from schools.schemas import (
    ClassGroupOut,
    CountsOut,
    FamilyLinkOut,
    FamilyLinksIn,
    FamilyLinksOut,
    GuardianChildOut,
    GuardianIn,
    GuardianOut,
    GuardianPatchIn,
    MyChildOut,
    MyRoleOut,
    RoleIn,
    RoleOut,
    RolloverIn,
    RolloverJobOut,
    SchoolsMeOut,
    StaffPageOut,
    StudentDetailOut,
    StudentGuardianOut,
    StudentIn,
    StudentOut,
    StudentPageOut,
    StudentPatchIn,
    StudentsQuery,
    UnitDetailOut,
    UnitIn,
    UnitOut,
    UnitPageOut,
    UnitPatchIn,
    UnitRef,
    UnitsQuery,
)
from schools.paging import PageQuery
from schools.scope import load_scope, unit_in_scope
from schools.students import class_in_scope, do_add_guardians, do_create_student, do_unlink_guardian, do_update_student, student_in_scope
from schools.units import do_create_unit, do_update_unit, list_units, trail, unit_names

routes = web.RouteTableDef()
SCHOOLS = "/api/v1/orgs/{org_id}/schools"
UNIT = SCHOOLS + "/units/{unit_id}"
STUDENT = SCHOOLS + "/students/{student_id}"


def unit_out(unit: SchoolUnit, department: Department, counts) -> UnitOut:
    return UnitOut(
        id=department.id, kind=unit.kind, name=department.name, external_id=unit.external_id, level=unit.level,
        parent_id=department.parent_id, archived=unit.archived_at is not None, counts=CountsOut.model_validate(counts, from_attributes=True),
    )


@routes.get(SCHOOLS + "/me")
@endpoint(response=SchoolsMeOut, auth="any", external=True)
async def my_schools(request: web.Request, org: OrgContext) -> SchoolsMeOut:
    """What the caller is in the hierarchy: their roles (staff) and the children they are a guardian of (guardians)."""
    if org.principal.is_guest:
        raise NotFound("no such organisation")
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        scope = await load_scope(tx, org)
        roles = (await tx.session.execute(
            select(UnitRole.role, UnitRole.subject, Department.path).join(Department, Department.id == UnitRole.unit_id)
            .where(UnitRole.user_id == org.user_id).order_by(UnitRole.id)
        )).all()
        children = (await tx.session.execute(
            select(Student.id, Student.name, StudentGuardian.relation, Department.path, ClassGroup.group_id)
            .join(StudentGuardian, StudentGuardian.student_id == Student.id)
            .join(Guardian, Guardian.id == StudentGuardian.guardian_id)
            .outerjoin(Department, Department.id == Student.class_id)
            .outerjoin(ClassGroup, ClassGroup.class_id == Student.class_id)
            .where(Guardian.id.in_(guardian_of_active_students(org.user_id)), Student.archived_at.is_(None))
            .order_by(Student.id)
        )).all()
        if org.role == "external" and not children:  # an outsider of another kind (an external contact): nobody here
            raise NotFound("no such organisation")
        names = await unit_names(tx, [path for _, _, path in roles] + [row.path for row in children if row.path])
    return SchoolsMeOut(
        everything=scope.everything,
        roles=[MyRoleOut(unit=UnitRef(**trail(path, names)[-1]), role=role, subject=subject) for role, subject, path in roles],
        children=[
            MyChildOut(student_id=row.id, name=row.name, relation=row.relation, trail=[UnitRef(**u) for u in trail(row.path, names)], group_id=row.group_id)
            for row in children
        ],
    )


@routes.get(SCHOOLS + "/units")
@endpoint(query=UnitsQuery, response=UnitPageOut)
async def get_units(request: web.Request, query: UnitsQuery, org: OrgContext) -> UnitPageOut:
    """The units right under ``parent_id`` with their roll-up counts; without it, the tops of what the caller reaches."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        scope = await load_scope(tx, org)
        parent = (await unit_in_scope(tx, scope, query.parent_id))[1] if query.parent_id is not None else None
        page, next_after = await list_units(tx, scope, parent=parent, after_id=query.after_id, limit=query.limit)
        counts = await rollups(tx, [(d.id, d.path) for _, d in page])
    return UnitPageOut(units=[unit_out(u, d, counts[d.id]) for u, d in page], next_after_id=next_after)


async def _unit_detail(tx, unit: SchoolUnit, department: Department) -> UnitDetailOut:
    counts = (await rollups(tx, [(department.id, department.path)]))[department.id]
    names = await unit_names(tx, [department.path])
    group_id = await tx.session.scalar(select(ClassGroup.group_id).where(ClassGroup.class_id == department.id))
    return UnitDetailOut(
        **unit_out(unit, department, counts).model_dump(), guardians=await guardian_count(tx, department.path),
        trail=[UnitRef(**u) for u in trail(department.path, names)], group_id=group_id,
    )


@routes.post(SCHOOLS + "/units")
@endpoint(body=UnitIn, response=UnitDetailOut, status=201)
async def create_unit(request: web.Request, body: UnitIn, org: OrgContext) -> UnitDetailOut:
    """A new unit under ``parent_id``, which the caller manages (the bureau itself: organisation admins)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        scope = await load_scope(tx, org)
        parent = await unit_in_scope(tx, scope, body.parent_id, "manage") if body.parent_id is not None else None
        if parent is None and not scope.everything and body.kind != "bureau":
            raise Forbidden(_("only a school, district or bureau administrator of this unit can do this"))
        unit, department = await do_create_unit(
            tx, scope, kind=body.kind, name=body.name, parent=parent, external_id=body.external_id, level=body.level,
        )
        return await _unit_detail(tx, unit, department)


@routes.get(UNIT)
@endpoint(response=UnitDetailOut)
async def get_unit(request: web.Request, org: OrgContext) -> UnitDetailOut:
    """One unit, where it is, its roll-up counts and (a class) its group."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        unit, department = await unit_in_scope(tx, await load_scope(tx, org), path_int(request, "unit_id"))
        return await _unit_detail(tx, unit, department)


@routes.patch(UNIT)
@endpoint(body=UnitPatchIn, response=UnitDetailOut)
async def patch_unit(request: web.Request, body: UnitPatchIn, org: OrgContext) -> UnitDetailOut:
    """Rename a unit, change its external id or level (its managers)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        unit, department = await unit_in_scope(tx, await load_scope(tx, org), path_int(request, "unit_id"), "manage")
        await do_update_unit(tx, unit, department, name=body.name, external_id=body.external_id, level=body.level, fields=body.model_fields_set)
        await tx.session.refresh(department)
        return await _unit_detail(tx, unit, department)


@routes.get(UNIT + "/students")
@endpoint(query=StudentsQuery, response=StudentPageOut)
async def get_students(request: web.Request, query: StudentsQuery, org: OrgContext) -> StudentPageOut:
    """The children at and under a unit, by id, a page at a time."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        _, department = await unit_in_scope(tx, await load_scope(tx, org), path_int(request, "unit_id"))
        classes = select(Department.id).where(Department.path.startswith(department.path))
        listed = select(Student).where(Student.class_id.in_(classes), Student.id > query.after_id)
        if not query.include_archived:
            listed = listed.where(Student.archived_at.is_(None))
        rows = (await tx.session.scalars(listed.order_by(Student.id).limit(query.limit + 1))).all()
    page, next_after = cut_page(rows, query.limit, lambda s: s.id)
    return StudentPageOut(students=[StudentOut.model_validate(s) for s in page], next_after_id=next_after)


@routes.get(UNIT + "/staff")
@endpoint(query=PageQuery, response=StaffPageOut)
async def get_staff(request: web.Request, query: PageQuery, org: OrgContext) -> StaffPageOut:
    """The roles held at and under a unit, and by whom."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        _, department = await unit_in_scope(tx, await load_scope(tx, org), path_int(request, "unit_id"))
        page, next_after = await list_staff(tx, department, after_id=query.after_id, limit=query.limit)
    return StaffPageOut(roles=[_role_out(role, name, unit_name) for role, name, unit_name in page], next_after_id=next_after)


def _role_out(role: UnitRole, name: str, unit_name: str) -> RoleOut:
    return RoleOut(id=role.id, unit_id=role.unit_id, unit_name=unit_name, user_id=role.user_id, name=name, role=role.role, subject=role.subject)


@routes.post(UNIT + "/roles")
@endpoint(body=RoleIn, response=RoleOut, status=201)
async def assign_role(request: web.Request, body: RoleIn, org: OrgContext) -> RoleOut:
    """Give a member a role on this unit (its managers); a teacher's role on a class puts them in its group."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        unit, department = await unit_in_scope(tx, await load_scope(tx, org), path_int(request, "unit_id"), "manage")
        role = await do_assign_role(tx, unit, user_id=body.user_id, role=body.role, subject=body.subject)
        await do_audit(tx, org.principal, "schools.role_assigned", target=("unit", department.id), details={"user_id": body.user_id, "role": role.role})
        member_name = await tx.session.scalar(select(Membership.display_name).where(Membership.user_id == body.user_id))
        return _role_out(role, member_name, department.name)


@routes.delete(UNIT + "/roles/{role_id}")
@endpoint(status=204)
async def remove_role(request: web.Request, org: OrgContext) -> None:
    """Take a role on this unit away (its managers)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        unit, department = await unit_in_scope(tx, await load_scope(tx, org), path_int(request, "unit_id"), "manage")
        await do_remove_role(tx, unit, path_int(request, "role_id"))
        await do_audit(tx, org.principal, "schools.role_removed", target=("unit", department.id), details={"role_id": path_int(request, "role_id")})


@routes.post(UNIT + "/group")
@endpoint(response=ClassGroupOut, status=201)
async def make_class_group(request: web.Request, org: OrgContext) -> ClassGroupOut:
    """Make a class's group (its teachers and its children's guardians), which then follows its roster; the caller owns it."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        unit, department = await unit_in_scope(tx, await load_scope(tx, org), path_int(request, "unit_id"), "roster")
        if unit.kind != "class":
            raise NotFound("no such class")
        group_id, created = await do_make_class_group(tx, org, request.app[SETTINGS], department.id, await class_group_name(tx, department))
    return ClassGroupOut(group_id=group_id, created=created)


@routes.post(UNIT + "/family-links")
@endpoint(body=FamilyLinksIn, response=FamilyLinksOut, status=201)
async def make_family_links(request: web.Request, body: FamilyLinksIn, org: OrgContext) -> FamilyLinksOut:
    """A single-use link (and its QR code) per child of this class, all on its roll or those named, with which a member of
    the child's family signs in and becomes their guardian (who may change the class's roster: its head teacher, its
    managers). A child's earlier unused link is withdrawn. The links are shown in this answer only: see schools/family_links.py."""
    settings = request.app[SETTINGS]
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        unit, department = await unit_in_scope(tx, await load_scope(tx, org), path_int(request, "unit_id"), "roster")
        if unit.kind != "class" or unit.archived_at is not None:
            raise NotFound("no such class")
        students = await children_to_invite(tx, department.id, body.student_ids)
        links = await do_issue_family_links(tx, org, settings, students, expires_in_s=body.expires_in_s)
        place = await class_place(tx, department.path)
        organisation = await tx.session.get(Organisation, org.org_id)
    phone_url = (f"{settings.public_url.rstrip('/')}/?{urlencode({'org': organisation.slug, 'next': family_page(org.org_id)})}"
                 if organisation.phone_sign_in else None)
    codes = await qr_codes([link.url for link in links])
    return FamilyLinksOut(
        class_id=department.id, class_name=place.class_name, school=place.school, phone_sign_in_url=phone_url,
        links=[FamilyLinkOut(student_id=link.student_id, name=link.name, link_id=link.link_id, url=link.url, qr=qr, expires_at=link.expires_at)
               for link, qr in zip(links, codes, strict=True)],
    )


ROLLOVER_STOPPED = _("the rollover was stopped when its server stopped; run it again: the schools it rolled over are left alone")
ROLLOVER_FAILED = _("the rollover failed on the server; run it again: the schools it rolled over are left alone")


@routes.post(UNIT + "/rollover")
@endpoint(body=RolloverIn, response=RolloverJobOut, status=202)
async def rollover(request: web.Request, body: RolloverIn, org: OrgContext) -> RolloverJobOut:
    """End the school year for every school at or under this unit (its managers), once per school and label: answers at once
    with the job, which ``GET .../schools/rollovers/{id}`` follows; see schools/rollover.py."""
    db = request.app[DB]
    label = check_label(body.label)
    async with db.transaction(org_id=org.org_id) as tx:
        scope = await load_scope(tx, org)
        _, department = await unit_in_scope(tx, scope, path_int(request, "unit_id"), "manage")
        transfers = await check_transfers(tx, scope, [Transfer(t.student_id, t.class_id) for t in body.transfers])
    job_id = await do_start_job(db, org.org_id, kind="rollover", started_by=org.user_id, unit_id=department.id,
                                report=RolloverReport(label=label).as_json())

    async def work(progress) -> RolloverReport:
        report = await do_rollover(db, org.org_id, department.path, label=label, final_level=body.final_level, transfers=transfers,
                                   job_id=job_id, on_progress=progress)
        async with db.transaction(org_id=org.org_id) as tx:
            await do_audit(tx, org.principal, "schools.rolled_over", target=("unit", department.id), details={
                "label": label, "schools": report.schools, "already": len(report.already), "graduated_students": report.graduated_students,
            })
        return report

    start_task(request.app, run_job(db, org.org_id, job_id, work, report=RolloverReport(label=label), stopped=ROLLOVER_STOPPED,
                                    failed=ROLLOVER_FAILED))
    async with db.transaction(org_id=org.org_id) as tx:
        return rollover_out(await tx.session.get(SchoolJob, job_id), request_locale(request))


def rollover_out(job: SchoolJob, locale: str) -> RolloverJobOut:
    report = RolloverReport(**{k: v for k, v in job.report.items() if k != "fatal"})
    fatal = job.report.get("fatal")
    return RolloverJobOut(
        id=job.id, status=job_status(job), unit_id=job.unit_id, **{k: v for k, v in report.as_json().items() if k != "schools_total"},
        schools_total=job.rows_total or report.schools_total,
        failure=translate(locale, fatal["message"], **fatal["params"]) if fatal else None, created_at=job.created_at, finished_at=job.finished_at,
    )


ROLLOVERS_LISTED = 20


@routes.get(SCHOOLS + "/rollovers")
@endpoint(response=list[RolloverJobOut])
async def list_rollovers(request: web.Request, org: OrgContext) -> list[RolloverJobOut]:
    """The last rollovers of units the caller manages, newest first: a page reloaded while one runs finds it here."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        paths = (await load_scope(tx, org)).paths("manage")
        listed = select(SchoolJob).where(SchoolJob.kind == "rollover").order_by(SchoolJob.id.desc()).limit(ROLLOVERS_LISTED)
        if paths is not None:  # None: organisation admins, everything
            listed = listed.join(Department, Department.id == SchoolJob.unit_id).where(or_(false(), *(Department.path.startswith(p) for p in paths)))
        return [rollover_out(job, request_locale(request)) for job in await tx.session.scalars(listed)]


@routes.get(SCHOOLS + "/rollovers/{rollover_id}")
@endpoint(response=RolloverJobOut)
async def get_rollover(request: web.Request, org: OrgContext) -> RolloverJobOut:
    """A rollover's job: how far it got and, once it ended, what it did (who may roll over its unit)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        scope = await load_scope(tx, org)
        job = await tx.session.scalar(select(SchoolJob).where(SchoolJob.id == path_int(request, "rollover_id"), SchoolJob.kind == "rollover"))
        path = await tx.session.scalar(select(Department.path).where(Department.id == job.unit_id)) if job and job.unit_id else None
        if job is None or not (scope.everything or scope.reaches(path, "manage")):
            raise NotFound("no such rollover")
        return rollover_out(job, request_locale(request))


async def _student_detail(tx, student: Student, path: str | None) -> StudentDetailOut:
    names = await unit_names(tx, [path] if path else [])
    guardians = (await tx.session.execute(
        select(Guardian, StudentGuardian.relation).join(StudentGuardian, StudentGuardian.guardian_id == Guardian.id)
        .where(StudentGuardian.student_id == student.id).order_by(Guardian.id)
    )).all()
    return StudentDetailOut(
        **StudentOut.model_validate(student).model_dump(), trail=[UnitRef(**u) for u in trail(path, names)],
        guardians=[
            StudentGuardianOut(id=g.id, name=g.name, phone=g.phone, relation=relation, has_account=g.user_id is not None)
            for g, relation in guardians
        ],
    )


@routes.post(SCHOOLS + "/students")
@endpoint(body=StudentIn, response=StudentDetailOut, status=201)
async def create_student(request: web.Request, body: StudentIn, org: OrgContext) -> StudentDetailOut:
    """Put a child on a class's roll with their guardians (the class's head teacher or a school administrator)."""
    region = request.app[SETTINGS].default_phone_region
    guardians = [clean_guardian(g.name, g.phone, g.relation, region=region, prefix=f"guardians.{i}.") for i, g in enumerate(body.guardians)]
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        department = await class_in_scope(tx, await load_scope(tx, org), body.class_id, "roster")
        student = await do_create_student(tx, external_id=body.external_id, name=body.name, class_id=body.class_id, guardians=guardians)
        return await _student_detail(tx, student, department.path)


@routes.get(STUDENT)
@endpoint(response=StudentDetailOut)
async def get_student(request: web.Request, org: OrgContext) -> StudentDetailOut:
    """A child, their class and their guardians."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        student, path = await student_in_scope(tx, await load_scope(tx, org), path_int(request, "student_id"))
        return await _student_detail(tx, student, path)


@routes.patch(STUDENT)
@endpoint(body=StudentPatchIn, response=StudentDetailOut)
async def patch_student(request: web.Request, body: StudentPatchIn, org: OrgContext) -> StudentDetailOut:
    """Rename, transfer (to a class the caller may also change) or archive/restore a child."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        scope = await load_scope(tx, org)
        student, path = await student_in_scope(tx, scope, path_int(request, "student_id"), "roster")
        if body.class_id is not None and body.class_id != student.class_id:
            path = (await class_in_scope(tx, scope, body.class_id, "roster")).path
        student = await do_update_student(tx, student, name=body.name, external_id=body.external_id, class_id=body.class_id, archived=body.archived)
        return await _student_detail(tx, student, path)


@routes.post(STUDENT + "/guardians")
@endpoint(body=GuardianIn, response=StudentDetailOut, status=201)
async def add_guardian(request: web.Request, body: GuardianIn, org: OrgContext) -> StudentDetailOut:
    """Link a guardian to a child: the guardian with that phone if there is one (the relation is this child's), else a new one."""
    guardian = clean_guardian(body.name, body.phone, body.relation, region=request.app[SETTINGS].default_phone_region)
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        student, path = await student_in_scope(tx, await load_scope(tx, org), path_int(request, "student_id"), "roster")
        await do_add_guardians(tx, student, [guardian])
        if student.class_id is not None:
            await do_follow_rosters(tx, [student.class_id])
        return await _student_detail(tx, student, path)


@routes.delete(STUDENT + "/guardians/{guardian_id}")
@endpoint(status=204)
async def remove_guardian(request: web.Request, org: OrgContext) -> None:
    """Unlink a guardian from a child (the guardian stays linked to their other children)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        student, _ = await student_in_scope(tx, await load_scope(tx, org), path_int(request, "student_id"), "roster")
        await do_unlink_guardian(tx, student, path_int(request, "guardian_id"))


async def _guardian_out(tx, scope, guardian: Guardian) -> GuardianOut:
    rows = (await tx.session.execute(
        select(Student.id, Student.name, StudentGuardian.relation, Department.path)
        .join(StudentGuardian, StudentGuardian.student_id == Student.id)
        .outerjoin(Department, Department.id == Student.class_id)
        .where(StudentGuardian.guardian_id == guardian.id).order_by(Student.id)
    )).all()
    reached = [row for row in rows if scope.reaches(row.path)]
    names = await unit_names(tx, [row.path for row in reached])
    return GuardianOut(
        id=guardian.id, name=guardian.name, phone=guardian.phone, has_account=guardian.user_id is not None,
        children=[
            GuardianChildOut(student_id=row.id, name=row.name, relation=row.relation, trail=[UnitRef(**u) for u in trail(row.path, names)])
            for row in reached
        ],
    )


@routes.get(SCHOOLS + "/guardians/{guardian_id}")
@endpoint(response=GuardianOut)
async def get_guardian(request: web.Request, org: OrgContext) -> GuardianOut:
    """A guardian and those of their children the caller reaches."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        scope = await load_scope(tx, org)
        guardian, _ = await guardian_in_scope(tx, scope, path_int(request, "guardian_id"))
        return await _guardian_out(tx, scope, guardian)


@routes.patch(SCHOOLS + "/guardians/{guardian_id}")
@endpoint(body=GuardianPatchIn, response=GuardianOut)
async def patch_guardian(request: web.Request, body: GuardianPatchIn, org: OrgContext) -> GuardianOut:
    """Correct a guardian's name or phone (who may change the roster of one of their children's classes)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        scope = await load_scope(tx, org)
        guardian, _ = await guardian_in_scope(tx, scope, path_int(request, "guardian_id"), "roster")
        await do_update_guardian(
            tx, guardian, name=body.name, phone=body.phone, fields=body.model_fields_set, region=request.app[SETTINGS].default_phone_region,
        )
        return await _guardian_out(tx, scope, guardian)
