"""Member import limits: what a file may declare and cost is bounded before parsing, and imports never hold up sign-ins."""
from __future__ import annotations

import asyncio
import io
import re
import threading
import time
import zipfile

import openpyxl

from server.accounts.users import do_create_user
from server.appkeys import SETTINGS
from server.orgs.imports import run
from tests.factories import PASSWORD
from tests.server.orgs.test_import import members_by_external_id, upload

SHEET = "xl/worksheets/sheet1.xml"


def workbook_bytes() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["external_id", "name"])
    sheet.append(["E1", "Ada Lovelace"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def patched(xlsx: bytes, part: str, change) -> bytes:
    """The workbook with one of its XML parts rewritten by ``change`` (text → text), as an attacker would by hand."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            data = source.read(member.filename)
            if member.filename == part:
                data = change(data.decode()).encode()
            target.writestr(member.filename, data)
    return out.getvalue()


def declaring_every_cell(xml: str) -> str:
    return re.sub(r'<dimension ref="[^"]*"\s*/>', '<dimension ref="A1:XFD1048576"/>', xml)


def with_row(row_xml: str):
    return lambda xml: xml.replace("</sheetData>", row_xml + "</sheetData>")


async def timed_upload(client, org, content: bytes, filename: str = "staff.xlsx"):
    started = time.monotonic()
    resp = await asyncio.wait_for(upload(client, org, content, filename), 30)
    return resp, time.monotonic() - started


async def test_a_tiny_xlsx_declaring_every_cell_of_the_sheet_imports_what_it_holds_at_once(client, db, org):
    hostile = patched(workbook_bytes(), SHEET, declaring_every_cell)
    assert len(hostile) < 8000
    resp, seconds = await timed_upload(client, org, hostile)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["created"] == 1 and seconds < 5
    assert sorted(await members_by_external_id(db, org.id)) == ["E1"]


async def test_an_xlsx_with_a_row_numbered_past_the_limit_is_refused_quickly_naming_the_limit(client, db, org):
    hostile = patched(workbook_bytes(), SHEET, lambda xml: with_row('<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>')(declaring_every_cell(xml)))
    resp, seconds = await timed_upload(client, org, hostile)
    error = (await resp.json())["error"]
    assert resp.status == 413 and error["code"] == "import_too_large" and seconds < 5
    assert error["message"] == "the sheet has a row numbered 1,048,576; an import takes at most 200,000 (MUSTER_IMPORT_MAX_ROWS)"
    assert await members_by_external_id(db, org.id) == {}  # refused before any row is written


async def test_an_xlsx_with_a_cell_past_the_column_limit_is_refused_naming_the_limit(client, db, org):
    hostile = patched(workbook_bytes(), SHEET, with_row('<row r="3"><c r="XFD3" t="inlineStr"><is><t>x</t></is></c></row>'))
    resp, seconds = await timed_upload(client, org, hostile)
    error = (await resp.json())["error"]
    assert resp.status == 413 and seconds < 5
    assert "cell at XFD3" in error["message"] and "at most 64 (MUSTER_IMPORT_MAX_COLUMNS)" in error["message"]
    many_cells = with_row("<row r=\"3\">" + "<c><v>1</v></c>" * 65 + "</row>")  # no references: the 65th cell is column 65
    assert (await upload(client, org, patched(workbook_bytes(), SHEET, many_cells), "staff.xlsx")).status == 413


async def test_an_xlsx_that_unpacks_past_the_limit_is_refused_before_it_is_read(client, db, org):
    hostile = patched(workbook_bytes(), SHEET, lambda xml: xml.replace("Ada Lovelace", "a" * (130 << 20)))
    assert len(hostile) < 1 << 20  # a zip bomb: well under a megabyte
    resp, seconds = await timed_upload(client, org, hostile)
    error = (await resp.json())["error"]
    assert resp.status == 413 and seconds < 5
    assert "unpacks to" in error["message"] and "MUSTER_IMPORT_MAX_UNPACKED_BYTES" in error["message"]


async def test_the_limits_are_the_operators_to_set_and_apply_to_csv_too(client, app, db, org):
    app[SETTINGS].import_max_rows = 2
    three = b"external_id,name\nE1,A\nE2,B\nE3,C\n"
    resp = await upload(client, org, three)
    assert resp.status == 413 and "at most 2 (MUSTER_IMPORT_MAX_ROWS)" in (await resp.json())["error"]["message"]
    assert (await upload(client, org, b"external_id,name\nE1,A\nE2,B\n")).status == 200


async def test_a_third_import_at_once_on_a_node_is_refused_with_retry_after(client, org, monkeypatch):
    monkeypatch.setattr(run, "_running", run.IMPORTS_AT_ONCE)
    resp = await upload(client, org, b"external_id,name\nE1,A\n")
    assert resp.status == 429 and resp.headers["Retry-After"] == "60"
    assert "imports are running on this server already" in (await resp.json())["error"]["message"]


async def test_sign_ins_and_imports_do_not_wait_for_a_busy_default_thread_pool(client, db, org):
    async with db.transaction() as tx:
        person = await do_create_user(tx, name="Pat", email="pat@example.org", password=PASSWORD)
    loop = asyncio.get_running_loop()
    release = threading.Event()
    hogs = [loop.run_in_executor(None, release.wait) for _ in range(64)]  # every thread of the default pool, busy
    try:
        login = client.post("/api/v1/auth/login", json={"email": person.email, "password": PASSWORD})
        assert (await asyncio.wait_for(login, 5)).status == 200
        imported = await asyncio.wait_for(upload(client, org, b"external_id,name\nE1,A\n"), 5)
        assert imported.status == 200
    finally:
        release.set()
        await asyncio.gather(*hogs)


async def test_an_xlsx_whose_sheet_is_not_deflate_data_is_a_400(client, org):
    xlsx = bytearray(workbook_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(xlsx))) as archive:
        sheet = archive.getinfo(SHEET)
    start = sheet.header_offset + 30 + len(sheet.filename.encode()) + len(sheet.extra)  # the sheet's compressed bytes
    xlsx[start : start + 16] = b"\xff" * 16
    resp = await upload(client, org, bytes(xlsx), "staff.xlsx")
    assert resp.status == 400 and "cannot be read" in (await resp.json())["error"]["message"]
