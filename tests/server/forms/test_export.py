"""Exports: CSV streamed with formulas neutralised and numbers and phones intact, XLSX with typed cells, of a round or a date range."""
from __future__ import annotations

import csv
import io
import uuid

import openpyxl
import pytest
from sqlalchemy import select

from server.audit.models import AuditEntry
from server.forms.export import neutralised
from tests.server.forms.rounds_world import make_form, make_school, send_round
from tests.server.orgs.conftest import join, ok

FREE = {"fields": [
    {"name": "temperature", "type": "temperature", "label": "Temperature", "required": True, "min": 34, "max": 43},
    {"name": "note", "type": "text", "label": "Note"},
    {"name": "phone", "type": "text", "label": "Phone"},
    {"name": "symptoms", "type": "yes_no", "label": "Symptoms"},
]}
ATTACKS = ["=HYPERLINK(\"http://evil\",\"x\")", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1"]


@pytest.mark.parametrize("text,expected", [
    ("=1+1", "'=1+1"), ("+cmd|x", "'+cmd|x"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("+8613800138000", "+8613800138000"), ("-12.5", "-12.5"), ("+86 138 0013 8000", "+86 138 0013 8000"), ("正常", "正常"), ("a=b", "a=b"),
])
def test_formulas_are_neutralised_and_numbers_and_phones_are_not(text, expected):
    assert neutralised(text) == expected


async def answered_round(client, db, school) -> tuple[int, dict[int, str]]:
    school.form_id = await make_form(db, school.org.id, school.org.owner.id, FREE, title="Free text")
    rid = (await send_round(client, school))["id"]
    notes = {}
    for n, person in enumerate(school.people["n1"] + school.people["n2"]):
        note = ATTACKS[n % len(ATTACKS)]
        notes[person.id] = note
        body = {"client_id": uuid.uuid4().hex, "answers": {"temperature": 36.5 + n / 10, "note": note, "phone": "+8613800138000", "symptoms": n % 2 == 0}}
        await ok(await client.post(school.url(f"/rounds/{rid}/submissions"), json=body, headers=person.headers), 201)
    return rid, notes


async def test_csv_export_neutralises_formulas_and_keeps_numbers(client, db):
    school = await make_school(client, db)
    rid, notes = await answered_round(client, db, school)
    resp = await client.get(school.url(f"/forms/{school.form_id}/export?round_id={rid}"), headers=school.owner)
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
    text = (await resp.read()).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 5
    for row in rows:
        assert row["note"] == "'" + notes[int(row["respondent_id"])]
        assert row["phone"] == "+8613800138000" and float(row["temperature"]) >= 36.5 and row["respondent"].endswith(tuple("01234"))
        assert row["department"] in ("Class N1", "Class N2") and row["symptoms"] in ("yes", "no")
    async with db.transaction(org_id=school.org.id) as tx:
        assert await tx.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "form.answers_exported"))


async def test_xlsx_export_has_typed_cells_that_are_never_formulas(client, db):
    school = await make_school(client, db)
    rid, notes = await answered_round(client, db, school)
    resp = await client.get(school.url(f"/forms/{school.form_id}/export?round_id={rid}&format=xlsx"), headers=school.owner)
    assert resp.status == 200, await resp.text()
    book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
    sheet = book.active
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert header[:3] == ("round", "respondent_id", "respondent") and "note" in header
    column = {name: i for i, name in enumerate(header)}
    for row in rows:
        assert row[column["note"]] == notes[row[column["respondent_id"]]]  # the same text, as a string cell
        assert isinstance(row[column["temperature"]], float) and isinstance(row[column["symptoms"]], bool)
        assert row[column["phone"]] == "+8613800138000"
    for cells in sheet.iter_rows(min_row=2):
        assert all(cell.data_type != "f" for cell in cells)


async def test_a_date_range_exports_its_rounds_and_only_answer_viewers_may(client, db):
    school = await make_school(client, db)
    rid, _ = await answered_round(client, db, school)
    round_ = await ok(await client.get(school.url(f"/rounds/{rid}/dashboard"), headers=school.owner))
    day = round_["round"]["opens_at"][:10]
    resp = await client.get(school.url(f"/forms/{school.form_id}/export?first_day={day}&last_day={day}"), headers=school.owner)
    assert resp.status == 200 and len((await resp.read()).decode("utf-8-sig").strip().splitlines()) == 6
    member = await join(db, school.org.id)
    assert (await client.get(school.url(f"/forms/{school.form_id}/export?round_id={rid}"), headers=member.headers)).status == 404
    bad = await client.get(school.url(f"/forms/{school.form_id}/export?first_day={day}"), headers=school.owner)
    assert bad.status == 400
    everything = await client.get(school.url(f"/forms/{school.form_id}/export?format=xlsx"), headers=school.owner)
    assert everything.status == 200 and openpyxl.load_workbook(io.BytesIO(await everything.read())).active.max_row == 6
