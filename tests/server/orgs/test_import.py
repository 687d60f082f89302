"""Member import: CSV and XLSX, idempotent by external_id, per-row errors with row numbers, batches that survive a bad row."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from aiohttp import FormData
from sqlalchemy import func, select, text

from server.accounts.models import User
from server.appkeys import SETTINGS
from server.orgs.imports.rows import ImportRow
from server.orgs.imports.run import do_import_members
from server.orgs.imports.writer import write_batch
from server.orgs.invitations import do_accept_invitation
from server.orgs.models import Department, MemberInvitation, Membership
from tests.server.orgs.conftest import join, new_org, ok

STAFF_CSV = """external_id,name,email,phone,department,title,role
E1,Omar Haddad,omar@riverside.example,+86 139 0000 0001,Surgery,Head of Surgery,admin
E2,Liu Yang,Liu.Yang@Riverside.example,13900000002,Surgery/Ward 3,Ward Sister,
E3,Chen Jing,,139-0000-0003,Surgery / Ward 3,Staff Nurse,member
E4,Noah Williams,noah@riverside.example,,Pharmacy,,
"""


def form(content: bytes, filename: str = "staff.csv") -> FormData:
    data = FormData()
    data.add_field("file", io.BytesIO(content), filename=filename, content_type="application/octet-stream")
    return data


async def upload(client, org, content: bytes, filename: str = "staff.csv", headers=None):
    return await client.post(org.url("/imports"), data=form(content, filename), headers=headers or org.owner.headers)


async def members_by_external_id(db, org_id) -> dict[str, Membership]:
    async with db.transaction(org_id=org_id) as tx:
        return {m.external_id: m for m in await tx.session.scalars(select(Membership).where(Membership.external_id.is_not(None)))}


async def department_paths(db, org_id) -> dict[int, str]:
    """Department id → "Surgery/Ward 3"."""
    async with db.transaction(org_id=org_id) as tx:
        departments = {d.id: d for d in await tx.session.scalars(select(Department))}
    return {d.id: "/".join(departments[int(i)].name for i in d.path.strip("/").split("/")) for d in departments.values()}


async def test_a_csv_creates_members_accounts_and_departments(client, db, org):
    report = await ok(await upload(client, org, STAFF_CSV.encode()))

    assert report == {"created": 4, "updated": 0, "invited": 0, "failed": 0, "errors": []}
    members = await members_by_external_id(db, org.id)
    paths = await department_paths(db, org.id)
    liu = members["E2"]
    assert (liu.display_name, liu.email, liu.phone, liu.title, liu.role) == ("Liu Yang", "liu.yang@riverside.example", "+8613900000002", "Ward Sister", "member")
    assert paths[liu.department_id] == "Surgery/Ward 3"
    assert members["E3"].department_id == liu.department_id
    assert members["E1"].role == "admin"
    assert sorted(paths.values()) == ["Pharmacy", "Surgery", "Surgery/Ward 3"]
    async with db.transaction() as tx:
        user = await tx.session.get(User, members["E3"].user_id)
    assert (user.name, user.email, user.password_hash) == ("Chen Jing", None, None)


async def test_importing_again_updates_and_creates_nothing(client, db, org):
    await ok(await upload(client, org, STAFF_CSV.encode()))
    before = await members_by_external_id(db, org.id)

    changed = STAFF_CSV.replace("Ward Sister", "Matron").replace("Pharmacy,,", "Pharmacy,Pharmacist,")
    report = await ok(await upload(client, org, changed.encode()))

    assert report == {"created": 0, "updated": 4, "invited": 0, "failed": 0, "errors": []}
    after = await members_by_external_id(db, org.id)
    assert {k: m.id for k, m in after.items()} == {k: m.id for k, m in before.items()}
    assert (after["E2"].title, after["E4"].title) == ("Matron", "Pharmacist")
    async with db.transaction(org_id=org.id) as tx:
        assert await tx.session.scalar(select(func.count(Membership.id))) == 5  # with the owner
        assert await tx.session.scalar(select(func.count(Department.id))) == 3


async def test_bad_rows_are_reported_by_row_and_column_while_the_others_import(client, db, org):
    csv = (
        "external_id,name,email,phone,department,role\n"
        "E1,Good One,,13900000001,,\n"
        "E2,Bad Phone,,12,,\n"  # row 3
        ",No Id,,,,\n"  # row 4
        "E5,,,,,\n"  # row 5
        "E6,Bad Email,not-an-email,,,\n"  # row 6
        "E7,Would Be Owner,,,,owner\n"  # row 7
        "E8,Bad Role,,,,boss\n"  # row 8
        "E9,Bad Department,,,Surgery//Ward,\n"  # row 9
        "E10,Stray Cell,,,,,extra\n"  # row 10
        "E11,Good Two,,,,\n"
    )
    report = await ok(await upload(client, org, csv.encode()))

    assert (report["created"], report["failed"]) == (2, 8)
    assert [(e["row"], e["field"]) for e in report["errors"]] == [
        (3, "phone"), (4, "external_id"), (5, "name"), (6, "email"), (7, "role"), (8, "role"), (9, "department"), (10, None)
    ]
    assert all(e["message"] for e in report["errors"])
    assert sorted(await members_by_external_id(db, org.id)) == ["E1", "E11"]


async def test_an_xlsx_with_numbers_typed_as_numbers_imports_like_a_csv(client, db, org, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["External ID", "Name", "Phone", "Department"])
    sheet.append([1001, "Zhang Wei", 13900000001, "Hospital/Emergency"])
    sheet.append([])
    sheet.append([1002, "Bad Phone", 12, ""])
    buffer = io.BytesIO()
    workbook.save(buffer)

    report = await ok(await upload(client, org, buffer.getvalue(), "staff.xlsx"))

    assert (report["created"], report["failed"]) == (1, 1)
    assert report["errors"][0]["row"] == 4
    zhang = (await members_by_external_id(db, org.id))["1001"]
    assert (zhang.display_name, zhang.phone) == ("Zhang Wei", "+8613900000001")
    assert (await department_paths(db, org.id))[zhang.department_id] == "Hospital/Emergency"


async def test_an_existing_account_is_invited_not_linked_and_the_creators_membership_adopted(client, db, org):
    other = await new_org(db, "Other Owner")
    elsewhere = await join(db, other.id)
    csv = f"external_id,name,email,role\nE1,Listed Name,{elsewhere.email},\nE2,The Owner,{org.owner.email.upper()},member\n"

    report = await ok(await upload(client, org, csv.encode()))

    assert (report["created"], report["updated"], report["invited"], report["failed"]) == (0, 1, 1, 0)
    assert "E1" not in await members_by_external_id(db, org.id)
    (invitation,) = await ok(await client.get("/api/v1/invitations", headers=elsewhere.headers))
    await ok(await client.post(f"/api/v1/invitations/{invitation['id']}/accept", headers=elsewhere.headers))
    members = await members_by_external_id(db, org.id)
    assert (members["E1"].user_id, members["E1"].display_name) == (elsewhere.id, "Listed Name")
    assert (members["E2"].user_id, members["E2"].role, members["E2"].display_name) == (org.owner.id, "owner", "The Owner")
    async with db.transaction() as tx:
        assert (await tx.session.get(User, elsewhere.id)).name == elsewhere.user.name


async def test_an_email_that_belongs_to_another_imported_member_fails_that_row(client, db, org):
    await ok(await upload(client, org, b"external_id,name,email\nE1,First,same@example.org\n"))
    report = await ok(await upload(client, org, b"external_id,name,email\nE2,Second,same@example.org\n"))
    assert report["failed"] == 1
    assert report["errors"][0] | {"message": ""} == {"row": 2, "field": "email", "message": ""}
    assert "E1" in report["errors"][0]["message"]


async def test_the_same_external_id_twice_in_a_file_means_the_later_row_wins(client, db, org):
    report = await ok(await upload(client, org, b"external_id,name\nE1,First Spelling\nE1,Second Spelling\n"))
    assert (report["created"], report["updated"]) == (1, 1)
    assert (await members_by_external_id(db, org.id))["E1"].display_name == "Second Spelling"


async def test_columns_missing_from_the_file_leave_those_fields_alone(client, db, org):
    await ok(await upload(client, org, STAFF_CSV.encode()))
    await ok(await upload(client, org, b"external_id,name\nE1,Omar H.\n"))
    omar = (await members_by_external_id(db, org.id))["E1"]
    assert (omar.display_name, omar.title, omar.role, omar.phone) == ("Omar H.", "Head of Surgery", "admin", "+8613900000001")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"id,name\n1,A\n", "unknown column 'id'"),
        (b"external_id,email\n1,a@b.org\n", "no name column"),
        (b"", "empty"),
        ("external_id,name\n1,Zoë\n".encode("utf-16"), "UTF-8"),
        (b"PK\x03\x04 not really a zip", "cannot be read"),
    ],
)
async def test_an_unusable_file_is_refused_whole(client, db, org, content, message):
    resp = await upload(client, org, content)
    assert resp.status == 400
    assert message in (await resp.json())["error"]["message"]
    assert await members_by_external_id(db, org.id) == {}


async def test_semicolon_separated_csv_with_a_bom_is_read(client, db, org):
    report = await ok(await upload(client, org, "\ufeffexternal_id;name;title\nE1;Zoë Adler;Dr.\n".encode()))
    assert report["created"] == 1
    assert (await members_by_external_id(db, org.id))["E1"].display_name == "Zoë Adler"


async def test_only_admins_import(client, db, org):
    member = await join(db, org.id)
    assert (await upload(client, org, STAFF_CSV.encode(), headers=member.headers)).status == 403


async def test_a_request_without_the_file_field_is_a_400(client, org):
    resp = await client.post(org.url("/imports"), json={"file": "x"}, headers=org.owner.headers)
    assert resp.status == 400
    assert (await resp.json())["error"]["field"] == "file"


async def test_a_file_over_the_import_limit_is_413(client, app, db, org):
    app[SETTINGS].max_import_bytes = 4096
    big = b"external_id,name\n" + b"".join(b"E%d,Person %d\n" % (i, i) for i in range(1000))
    resp = await upload(client, org, big)
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "too_large"
    assert await members_by_external_id(db, org.id) == {}


async def test_a_batch_that_the_database_refuses_is_retried_row_by_row(db, org):
    """A department deleted after the import looked it up: only the row that points at it fails."""
    rows = [ImportRow(n, f"E{n}", f"Person {n}", None, None, (f"D{n}",), "", "member") for n in (2, 3, 4)]
    gone = 2**40
    async with db.transaction(org_id=org.id) as tx:
        real = Department(org_id=org.id, name="Real", path="")
        tx.session.add(real)
        await tx.session.flush()
        real.path = f"/{real.id}/"
    outcome = await write_batch(
        db, org.id, rows, columns=frozenset({"external_id", "name", "department"}),
        department_ids={("D2",): real.id, ("D3",): gone, ("D4",): real.id},
    )
    assert (outcome.created, outcome.updated) == (2, 0)
    assert [(e.row, e.field) for e in outcome.errors] == [(3, None)]
    assert "refused" in outcome.errors[0].message
    assert sorted(await members_by_external_id(db, org.id)) == ["E2", "E4"]


async def test_progress_is_reported_batch_by_batch(db, org, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("external_id,name\n" + "".join(f"E{i},Person {i}\n" for i in range(25)))
    seen = []
    report = await do_import_members(db, org.id, path, phone_region="CN", on_progress=lambda r: seen.append(r.rows), batch_rows=10)
    assert seen == [10, 20, 25]
    assert report.created == 25


async def test_the_cli_imports_through_the_same_path_and_prints_progress(db, org, database_url, tmp_path):
    path = tmp_path / "staff.csv"
    path.write_text(STAFF_CSV)
    async with db.transaction() as tx:
        from server.orgs.models import Organisation

        slug = (await tx.session.get(Organisation, org.id)).slug
    env = os.environ | {"MUSTER_DATABASE_URL": database_url, "MUSTER_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "server", "import-members", "--org", slug, str(path)],
        env=env, capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[3],
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["created"] == 4
    assert "4 rows" in done.stderr and "rows/s" in done.stderr
    assert sorted(await members_by_external_id(db, org.id)) == ["E1", "E2", "E3", "E4"]

    unknown = subprocess.run(
        [sys.executable, "-m", "server", "import-members", "--org", "no-such-org", str(path)],
        env=env, capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[3],
    )
    assert unknown.returncode == 2
    assert "no organisation" in unknown.stderr


async def test_external_ids_and_accounts_are_matched_only_within_the_organisation(client, db, org):
    other = await new_org(db, "Other Owner")
    await ok(await upload(client, other, b"external_id,name,email\nE1,Theirs,shared@example.org\n"))

    report = await ok(await upload(client, org, b"external_id,name,email\nE1,Ours,shared@example.org\n"))

    assert (report["created"], report["updated"], report["invited"], report["failed"]) == (0, 0, 1, 0)
    async with db.transaction(org_id=org.id) as tx:
        invitation = await tx.session.scalar(select(MemberInvitation))
        await do_accept_invitation(tx, invitation.user_id, invitation.id)
    ours, theirs = (await members_by_external_id(db, org.id))["E1"], (await members_by_external_id(db, other.id))["E1"]
    assert (ours.display_name, theirs.display_name) == ("Ours", "Theirs")
    assert ours.user_id == theirs.user_id  # one person, one account, in two organisations


async def test_a_refused_row_mid_batch_fails_alone_while_updates_and_creates_of_its_batch_go_in(db, org):
    """The batch fallback writes every other row of the batch, new and existing alike, and names the bad row."""
    async with db.transaction(org_id=org.id) as tx:
        real = Department(org_id=org.id, name="Real", path="")
        tx.session.add(real)
        await tx.session.flush()
        real.path = f"/{real.id}/"
    columns = frozenset({"external_id", "name", "department"})
    first = [ImportRow(n, f"E{n}", f"Person {n}", None, None, ("Real",), "", "member") for n in (2, 3)]
    await write_batch(db, org.id, first, columns=columns, department_ids={("Real",): real.id})

    batch = [
        ImportRow(2, "E2", "Person 2 Renamed", None, None, ("Real",), "", "member"),
        ImportRow(3, "E3", "Person 3", None, None, ("Real",), "", "member"),  # unchanged
        ImportRow(4, "E4", "Person 4", None, None, ("Gone",), "", "member"),
        ImportRow(5, "E5", "Person 5", None, None, ("Real",), "", "member"),
    ]
    outcome = await write_batch(db, org.id, batch, columns=columns, department_ids={("Real",): real.id, ("Gone",): 2**40})

    assert (outcome.created, outcome.updated) == (1, 2)
    assert [e.row for e in outcome.errors] == [4]
    members = await members_by_external_id(db, org.id)
    assert sorted(members) == ["E2", "E3", "E5"]
    assert (members["E2"].display_name, members["E5"].department_id) == ("Person 2 Renamed", real.id)


@pytest.mark.parametrize("backend", ["postgresql"])  # planner statistics are PostgreSQL's
async def test_an_import_that_doubles_the_tables_refreshes_their_planner_statistics(db, org, tmp_path):
    rows_known = text("SELECT reltuples FROM pg_class WHERE relname = 'memberships'")
    async with db.transaction() as tx:
        await tx.session.execute(text("ANALYZE users, memberships"))
        assert await tx.session.scalar(rows_known) < 10
    path = tmp_path / "people.csv"
    path.write_text("external_id,name\n" + "".join(f"E{i},Person {i}\n" for i in range(40)))

    await do_import_members(db, org.id, path, phone_region="CN", batch_rows=10)

    async with db.transaction() as tx:
        assert await tx.session.scalar(rows_known) >= 20
