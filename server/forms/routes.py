"""Forms API: parse, authorise, call one ``do_*`` function or query, answer.

    POST  /api/v1/orgs/{org_id}/forms                                         a form and its version 1
    GET   /api/v1/orgs/{org_id}/forms                                         forms, newest first, a page at a time
    POST  /api/v1/orgs/{org_id}/forms/import-xlsform                          a form from an XLSForm (multipart ``file``)
    GET   /api/v1/orgs/{org_id}/forms/{form_id}                               the form with its current definition
    PATCH /api/v1/orgs/{org_id}/forms/{form_id}                               retitle, new version, archive or restore
    GET   /api/v1/orgs/{org_id}/forms/{form_id}/versions                      every version, newest first
    GET   /api/v1/orgs/{org_id}/forms/{form_id}/versions/{version_number}     one version's definition
    GET   /api/v1/orgs/{org_id}/forms/{form_id}/versions/{version_number}/xlsform   that version as an XLSForm workbook
    POST  /api/v1/orgs/{org_id}/form-photos                                   (photos.py) a photo to answer a photo field with

Every form route is for those who may build forms (access.py): admins, and
whoever a registered rule admits, for the forms they made. Respondents never
read forms here: the part that sends a form to them (rounds) serves the
version they answer.
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web
from sqlalchemy import select

from server.api import endpoint, path_int
from server.appkeys import DB
from server.audit.record import do_audit
from server.files.owners import register_file_owner
from server.forms import photos
from server.forms.access import FORM_BUILDERS, builder_place_rule, check_may_build_forms, load_form
from server.forms.answers import definition_of
from server.forms.editing import do_create_form, do_set_archived, do_update_form, get_version, list_versions
from server.forms.models import Form, FormVersion
from server.forms.schemas import (
    FormIn,
    FormOut,
    FormPage,
    FormPatchIn,
    FormsQuery,
    FormSummaryOut,
    ImportedFormOut,
    ImportWarningOut,
    VersionOut,
    VersionSummaryOut,
)
from server.forms.xlsform.reading import read_xlsform
from server.forms.xlsform.writing import write_xlsform
from server.i18n import _, request_locale
from server.orgs.access import OrgContext
from server.orgs.imports.upload import received_file
from server.web.navigation import Place, register_place
from server.web.routes import WEB_ROUTE_PREFIX, page_handler

routes = web.RouteTableDef()
WEB = Path(__file__).parent / "web"
FORMS = "/api/v1/orgs/{org_id}/forms"
FORM = FORMS + "/{form_id}"
MAX_XLSFORM_BYTES = 4 << 20


def form_out(form: Form, version: FormVersion) -> FormOut:
    return FormOut(**FormSummaryOut.model_validate(form).model_dump(), version=version.number,
                   definition=definition_of(version))


@routes.post(FORMS)
@endpoint(body=FormIn, response=FormOut, status=201)
async def create_form(request: web.Request, body: FormIn, org: OrgContext) -> FormOut:
    """A form with its first version; 400 naming the part of the definition at fault."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await check_may_build_forms(request.app, tx, org)
        form, version = await do_create_form(tx, org, title=body.title, definition=body.definition)
        return form_out(form, version)


@routes.get(FORMS)
@endpoint(query=FormsQuery, response=FormPage)
async def list_forms(request: web.Request, query: FormsQuery, org: OrgContext) -> FormPage:
    """The forms the caller may build (all of the organisation's for admins), newest first, by keyset on id."""
    statement = select(Form).where(Form.archived_at.isnot(None) if query.archived else Form.archived_at.is_(None))
    if query.before_id is not None:
        statement = statement.where(Form.id < query.before_id)
    if not org.is_admin:
        statement = statement.where(Form.created_by == org.user_id)
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await check_may_build_forms(request.app, tx, org)
        rows = list(await tx.session.scalars(statement.order_by(Form.id.desc()).limit(query.limit + 1)))
    forms = [FormSummaryOut.model_validate(f) for f in rows[: query.limit]]
    return FormPage(forms=forms, next_before_id=forms[-1].id if len(rows) > query.limit else None)


@routes.post(FORMS + "/import-xlsform")
@endpoint(response=ImportedFormOut, status=201)
async def import_xlsform(request: web.Request, org: OrgContext) -> ImportedFormOut:
    """A form from an XLSForm workbook (multipart field ``file``); what Muster cannot represent is listed by row.

    Refused whole (400, ``problems``) if any question, type or expression
    cannot be kept; imported with ``warnings`` for what only changes the
    form's look or what is recorded besides answers (server/forms/xlsform/reading.py).
    """
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await check_may_build_forms(request.app, tx, org)
    async with received_file(request, max_bytes=MAX_XLSFORM_BYTES) as path:
        imported = read_xlsform(path.read_bytes())
    locale = request_locale(request)
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        form, version = await do_create_form(tx, org, title=imported.title, definition=imported.definition)
        await do_audit(tx, org.principal, "forms.imported", target=("form", form.id), details={"warnings": len(imported.warnings)})
        out = form_out(form, version)
    warnings = [ImportWarningOut(row=w.row, message=w.text(locale)) for w in imported.warnings]
    return ImportedFormOut(**out.model_dump(), warnings=warnings)


@routes.get(FORM)
@endpoint(response=FormOut)
async def read_form(request: web.Request, org: OrgContext) -> FormOut:
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        form = await load_form(request.app, tx, org, path_int(request, "form_id"))
        return form_out(form, await get_version(tx, form, form.current_version))


@routes.patch(FORM)
@endpoint(body=FormPatchIn, response=FormOut)
async def update_form(request: web.Request, body: FormPatchIn, org: OrgContext) -> FormOut:
    """Retitle; new questions make the next version (the old ones stay); archive or restore."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        form = await load_form(request.app, tx, org, path_int(request, "form_id"))
        version = await do_update_form(tx, org, form, title=body.title, definition=body.definition, base_version=body.base_version)
        if body.archived is not None:
            await do_set_archived(tx, org, form, body.archived)
        return form_out(form, version)


@routes.get(FORM + "/versions")
@endpoint(response=list[VersionSummaryOut])
async def versions(request: web.Request, org: OrgContext) -> list[VersionSummaryOut]:
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        form = await load_form(request.app, tx, org, path_int(request, "form_id"))
        return [VersionSummaryOut(number=v.number, created_by=v.created_by, created_at=v.created_at, fields=len(v.definition["fields"]))
                for v in await list_versions(tx, form)]


async def _version(request: web.Request, org: OrgContext) -> tuple[Form, FormVersion]:
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        form = await load_form(request.app, tx, org, path_int(request, "form_id"))
        return form, await get_version(tx, form, path_int(request, "version_number"))


@routes.get(FORM + "/versions/{version_number}")
@endpoint(response=VersionOut)
async def version(request: web.Request, org: OrgContext) -> VersionOut:
    _form, found = await _version(request, org)
    return VersionOut(form_id=found.form_id, number=found.number, created_by=found.created_by, created_at=found.created_at,
                      definition=definition_of(found))


@routes.get(FORM + "/versions/{version_number}/xlsform")
@endpoint()
async def export_xlsform(request: web.Request, org: OrgContext) -> web.Response:
    """The version as an XLSForm workbook (XLSX), for ODK, KoboToolbox, Ona or another Muster."""
    form, found = await _version(request, org)
    data = write_xlsform(form.title, form.id, found.number, definition_of(found))
    name = f"form-{form.id}-v{found.number}.xlsx"
    return web.Response(body=data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def setup(app: web.Application) -> None:
    app[FORM_BUILDERS] = []  # capabilities append their rules from their own setup (register_form_builders)
    app[photos.PHOTO_READERS] = []
    app[photos.PHOTO_UPLOADERS] = []
    app.router.add_routes(routes)
    app.router.add_routes(photos.routes)
    register_file_owner(app, photos.photo_owner(app))
    app.router.add_get("/forms", page_handler(WEB / "forms.html"), name=WEB_ROUTE_PREFIX + "forms")
    app.router.add_static("/forms/static/", WEB / "static", name=WEB_ROUTE_PREFIX + "forms-static", append_version=False)
    register_place(app, Place("forms", "/forms", _("Forms"), 40, visible=builder_place_rule(app)))
