"""XLSForm import and export: the fixtures (fixtures/make_xlsforms.py) cover groups, repeats, relevant, constraint,
select_one from a choices sheet, or_other and calculations; what Muster cannot represent is reported by row."""
from __future__ import annotations

import io
from pathlib import Path

import aiohttp
import openpyxl
import pytest
from pyxform.xls2xform import convert

from server.errors import InvalidInput
from server.forms.answers import check_answers
from server.forms.definition import FormDefinition
from tests.server.forms.conftest import health, make_form
from tests.server.orgs.conftest import join, ok

FIXTURES = Path(__file__).parent / "fixtures"


def upload(data: bytes, name: str = "form.xlsx") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return form


async def import_file(client, org, person, data: bytes, status: int = 201, language: str = "en") -> dict:
    resp = await client.post(org.url("/forms/import-xlsform"), data=upload(data), headers=person.headers | {"Accept-Language": language})
    return await ok(resp, status)


async def test_a_health_report_imports_with_its_skip_logic_and_warnings_by_row(client, db, org):
    imported = await import_file(client, org, org.owner, (FIXTURES / "health_report.xlsx").read_bytes())
    assert imported["title"] == "Daily health report" and imported["version"] == 1
    fields = {f["name"]: f for f in imported["definition"]["fields"]}
    assert list(fields) == ["intro", "temperature", "symptoms", "which", "since", "where_now", "where_now_other", "contacts", "remarks",
                            "measured_at", "location", "thermometer"]
    assert (fields["temperature"]["type"], fields["temperature"]["min"], fields["temperature"]["max"]) == ("temperature", 35, 42)
    assert fields["temperature"]["abnormal"]["value"] == 37.3 and fields["temperature"]["hint"] == "°C, under the tongue"
    assert fields["symptoms"]["type"] == "yes_no"  # a select_one of yes and no
    assert [c["value"] for c in fields["which"]["choices"]] == ["cough", "fever", "sore_throat"]  # from the choices sheet
    assert [c["value"] for c in fields["where_now"]["choices"]] == ["home", "hospital", "other"]  # or_other
    assert fields["where_now_other"]["relevant"]["value"] == "other"
    assert (fields["contacts"]["integer"], fields["contacts"]["min"], fields["contacts"]["constraint"]["op"]) == (True, 1, "ne")
    assert fields["remarks"]["max_length"] == 300
    assert [w["row"] for w in imported["warnings"]] == [None, 2, 4, 6, 6, 12, 16, 17]
    assert "fahrenheit" in imported["warnings"][6]["message"] and "flattened" in imported["warnings"][3]["message"]

    definition = FormDefinition.model_validate(imported["definition"])
    well = check_answers(definition, {"temperature": 36.5, "symptoms": False, "where_now": "home"})
    assert well.abnormal == []
    with pytest.raises(InvalidInput) as hidden:  # the group's skip logic reached its questions
        check_answers(definition, {"temperature": 36.5, "symptoms": False, "where_now": "home", "which": ["cough"]})
    assert hidden.value.field == "which"
    ill = check_answers(definition, {"temperature": 38, "symptoms": True, "which": ["fever"], "since": "2026-03-02",
                                     "where_now": "other", "where_now_other": "grandparents", "remarks": "resting"})
    assert ill.abnormal == ["temperature", "symptoms"]


async def test_what_muster_cannot_represent_refuses_the_import_with_every_row(client, db, org):
    refused = await import_file(client, org, org.owner, (FIXTURES / "unsupported.xlsx").read_bytes(), 400)
    assert refused["error"]["code"] == "xlsform_unsupported"
    assert [p["row"] for p in refused["problems"]] == [4, 7, 8, 9, 10, 12]
    messages = " | ".join(p["message"] for p in refused["problems"])
    for words in ("repeat children", "age_months, which Muster does not keep (row 3)", "arithmetic", "audio", "required", "choice_filter"):
        assert words in messages
    chinese = await import_file(client, org, org.owner, (FIXTURES / "unsupported.xlsx").read_bytes(), 400, language="zh-CN")
    assert chinese["problems"][0]["message"].startswith("第 4 行") and "无法表示" in chinese["error"]["message"]
    assert (await ok(await client.get(org.url("/forms"), headers=org.owner.headers)))["forms"] == []


async def test_a_workbook_pyxform_refuses_or_that_is_no_workbook_is_a_400_on_the_file(client, db, org):
    broken = await import_file(client, org, org.owner, (FIXTURES / "broken.xlsx").read_bytes(), 400)
    assert broken["error"]["field"] == "file" and "pyxform" in broken["error"]["message"]
    text = await import_file(client, org, org.owner, b"type,name,label\ntext,a,A\n", 400)
    assert text["error"]["field"] == "file"
    member = await join(db, org.id)
    assert (await client.post(org.url("/forms/import-xlsform"), data=upload(b"x"), headers=member.headers)).status == 403


async def test_a_version_exports_as_an_xlsform_that_odk_tools_read_and_muster_imports_back_unchanged(client, db, org):
    definition = health()
    definition["fields"][4]["constraint"] = {"all": [{"op": "ge", "value": "2026-01-01"}, {"op": "le", "value": "2026-12-31"}]}
    definition["fields"][8]["relevant"] = {"any": [{"field": "temperature", "op": "gt", "value": 37},
                                                   {"none": [{"field": "where", "op": "answered"}]}]}
    definition["fields"][2]["label"] = "=HYPERLINK(\"http://example.org\")"  # a label, never a formula
    made = await make_form(client, org, org.owner, title="每日健康报告", definition=definition)
    resp = await client.get(org.url(f"/forms/{made['id']}/versions/1/xlsform"), headers=org.owner.headers)
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    data = await resp.read()

    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["survey", "choices", "settings"]
    rows = list(book["survey"].values)
    assert rows[1][:3] == ("decimal", "temperature", "Temperature (°C)") and rows[1][6] == ". >= 35 and . <= 42"
    assert rows[3][2].startswith("=HYPERLINK") and book["survey"]["C4"].data_type == "s"
    assert book["settings"]["A2"].value == "每日健康报告"
    assert "<h:title>每日健康报告</h:title>" in convert(xlsform=data).xform  # pyxform makes an XForm of it

    again = await import_file(client, org, org.owner, data)
    assert again["definition"] == made["definition"] and again["title"] == "每日健康报告"
    assert again["warnings"] == []


async def test_a_version_with_control_characters_in_its_texts_still_exports_without_them(client, db, org):
    definition = health()
    definition["fields"][2]["label"] = "Cough\x01 or sore throat\x0b"
    made = await make_form(client, org, org.owner, title="Daily\x02 report", definition=definition)
    resp = await client.get(org.url(f"/forms/{made['id']}/versions/1/xlsform"), headers=org.owner.headers)
    assert resp.status == 200
    book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
    assert list(book["survey"].values)[3][2] == "Cough or sore throat"
    assert book["settings"]["A2"].value == "Daily report"
