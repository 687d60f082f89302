"""Request and response bodies of the forms API."""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field

from server.api import Id, Model, Out
from server.forms.definition import FormDefinition

Title = Annotated[str, Field(min_length=1, max_length=200)]


class FormIn(Model):
    title: Title
    definition: FormDefinition


class FormPatchIn(Model):
    title: Title | None = None
    definition: FormDefinition | None = Field(None, description="New questions: stored as the next version if they differ from the current one.")
    base_version: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = Field(
        None, description="The version the edit started from: 409 if the form has moved on since (another builder saved).")
    archived: bool | None = Field(None, description="Archive (kept, with its versions, but offered for no new rounds) or restore.")


class FormsQuery(Model):
    before_id: Id | None = Field(None, description="Keyset: forms with a smaller id than this (the previous page's next_before_id).")
    limit: Annotated[int, Field(ge=1, le=100)] = 50
    archived: bool = Field(False, description="List the archived forms instead of the others.")


class FormSummaryOut(Out):
    id: int
    title: str
    current_version: int
    created_by: int | None
    created_at: dt.datetime
    archived_at: dt.datetime | None


class FormPage(Out):
    forms: list[FormSummaryOut]
    next_before_id: int | None = Field(description="Pass as before_id for the next page; null on the last page.")


class VersionSummaryOut(Out):
    number: int
    created_by: int | None
    created_at: dt.datetime
    fields: int = Field(description="How many fields the version has.")


class FormOut(FormSummaryOut):
    version: int = Field(description="The number of the version whose definition this is (the current one).")
    definition: FormDefinition


class VersionOut(Out):
    form_id: int
    number: int
    created_by: int | None
    created_at: dt.datetime
    definition: FormDefinition


class ImportWarningOut(Out):
    row: int | None = Field(description="The survey sheet's row (the header is row 1); null for the whole workbook.")
    message: str


class ImportedFormOut(FormOut):
    warnings: list[ImportWarningOut] = Field(description="What was imported differently or not kept, by row.")
