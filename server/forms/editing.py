"""Making and changing forms: a change to the questions is a new version, and every version stays.

Submissions name the version they answered (the rounds that use a form take
its ``current_version``), so a version is never changed or deleted; an edit
stores the next number. Two builders saving at once cannot both take the
same number: the form's ``current_version`` moves with one conditional
UPDATE, and the slower save gets a 409 to reload. A title change alone makes
no version.
"""
from __future__ import annotations

from sqlalchemy import select, update

from server.audit.record import do_audit
from server.db import Transaction, utcnow
from server.errors import Conflict, NotFound
from server.forms.definition import FormDefinition
from server.forms.definition_checks import check_definition
from server.forms.models import Form, FormVersion
from server.orgs.access import OrgContext


def stored(definition: FormDefinition) -> dict:
    """The JSON kept in ``form_versions.definition``: defaults left out, so it reads back the same."""
    return definition.model_dump(mode="json", exclude_defaults=True)


async def do_create_form(tx: Transaction, org: OrgContext, *, title: str, definition: FormDefinition) -> tuple[Form, FormVersion]:
    check_definition(definition)
    form = Form(org_id=org.org_id, title=title, created_by=org.user_id, current_version=1)
    tx.session.add(form)
    await tx.session.flush()
    version = FormVersion(org_id=org.org_id, form_id=form.id, number=1, definition=stored(definition), created_by=org.user_id)
    tx.session.add(version)
    await tx.session.flush()
    await do_audit(tx, org.principal, "forms.created", target=("form", form.id), details={"title": title})
    return form, version


async def do_update_form(
    tx: Transaction, org: OrgContext, form: Form, *, title: str | None, definition: FormDefinition | None, base_version: int | None
) -> FormVersion:
    """Retitle and/or store a new version (only if the questions changed); returns the current version."""
    if base_version is not None and base_version != form.current_version:
        raise Conflict("the form has changed since version {base_version} (it is at version {current}): reload it and edit again",
                       field="base_version", code="stale_version", base_version=base_version, current=form.current_version)
    current = await get_version(tx, form, form.current_version)
    changes: dict = {}
    if title is not None and title != form.title:
        form.title = changes["title"] = title
    if definition is not None and stored(check_definition(definition)) != current.definition:
        number = await tx.session.scalar(
            update(Form).where(Form.id == form.id, Form.current_version == current.number)
            .values(current_version=Form.current_version + 1).returning(Form.current_version)
            .execution_options(synchronize_session=False)
        )
        if number is None:
            raise Conflict("the form was changed meanwhile: reload it and edit again", field="definition", code="stale_version")
        form.current_version = number
        current = FormVersion(org_id=org.org_id, form_id=form.id, number=number, definition=stored(definition), created_by=org.user_id)
        tx.session.add(current)
        await tx.session.flush()
        changes["version"] = number
    if changes:
        await do_audit(tx, org.principal, "forms.changed", target=("form", form.id), details=changes)
    return current


async def do_set_archived(tx: Transaction, org: OrgContext, form: Form, archived: bool) -> None:
    """An archived form is kept with its versions (and what was answered) but no longer offered for new rounds."""
    if archived == (form.archived_at is not None):
        return
    form.archived_at = utcnow() if archived else None
    await do_audit(tx, org.principal, "forms.archived" if archived else "forms.restored", target=("form", form.id))


async def get_version(tx: Transaction, form: Form, number: int) -> FormVersion:
    version = await tx.session.scalar(select(FormVersion).where(FormVersion.form_id == form.id, FormVersion.number == number))
    if version is None:
        raise NotFound("no such version")
    return version


async def list_versions(tx: Transaction, form: Form) -> list[FormVersion]:
    return list(await tx.session.scalars(select(FormVersion).where(FormVersion.form_id == form.id).order_by(FormVersion.number.desc())))
