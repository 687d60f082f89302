"""Files attached to a broadcast: uploaded with tus before sending, read by the sender, admins and recipients only."""
from __future__ import annotations

import asyncio
import base64
import datetime as dt

from sqlalchemy import func, select, update

from notify.models import Broadcast
from server.db import utcnow
from server.files.models import StoredFile
from server.files.storage import ABANDONED_AFTER
from server.gateway.models import UserEvent
from tests.factories import make_org, person
from tests.notify.conftest import add_member

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {"Content-Type": "application/offset+octet-stream"}
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 400


def metadata(filename: str, filetype: str) -> str:
    return f"filename {base64.b64encode(filename.encode()).decode()},filetype {base64.b64encode(filetype.encode()).decode()}"


async def create(client, org_id, headers, length: int, filename="plan.pdf", filetype="application/pdf"):
    return await client.post(f"/api/v1/orgs/{org_id}/broadcast-attachments",
                             headers=headers | TUS | {"Upload-Length": str(length), "Upload-Metadata": metadata(filename, filetype)})


async def upload(client, org_id, headers, data: bytes, filename="plan.pdf", filetype="application/pdf", *, finish=True) -> str:
    """A tus upload of ``data`` for a broadcast, in two PATCHes (or only the first half); returns its id."""
    created = await create(client, org_id, headers, len(data), filename, filetype)
    assert created.status == 201, await created.text()
    location = created.headers["Location"]
    half = len(data) // 2
    for start, end in ((0, half), (half, len(data)))[: 2 if finish else 1]:
        resp = await client.patch(location, data=data[start:end], headers=headers | TUS | OCTETS | {"Upload-Offset": str(start)})
        assert resp.status == 204, await resp.text()
    return location.rsplit("/", 1)[1]


async def send(client, org, headers, attachments, recipients=None):
    body = {"title": "Code red", "body": "Evacuate ward 3 now.", "attachments": attachments,
            "recipients": recipients or {"user_ids": [org.people["nina"]]}}
    return await client.post(f"/api/v1/orgs/{org.id}/broadcasts", json=body, headers=headers)


async def signed_in_member(client, db, org, name: str, role: str = "member"):
    someone = await person(client, db, name)
    await add_member(db, org.id, someone.id, name, role=role)
    return someone


async def test_recipients_sender_and_admins_download_the_file_with_range_and_nobody_else_can(client, db, org, backend):
    rita = await signed_in_member(client, db, org, "Rita")
    sam = await signed_in_member(client, db, org, "Sam")  # in the organisation, not a recipient
    second_admin = await signed_in_member(client, db, org, "Ida Admin", role="admin")
    upload_id = await upload(client, org.id, org.admin.headers, PDF)
    link = {"name": "Evacuation plan online", "url": "https://intranet.example.org/plan"}
    resp = await send(client, org, org.admin.headers, [link, {"upload_id": upload_id}], {"user_ids": [rita.id, org.people["nina"]]})
    assert resp.status == 201, await resp.text()
    sent = await resp.json()
    link_out, file_out = sent["attachments"]
    assert link_out == link | {"file_id": None, "content_type": None, "size": None}
    assert file_out == {"name": "plan.pdf", "url": f"/api/v1/orgs/{org.id}/files/{file_out['file_id']}", "file_id": file_out["file_id"],
                        "content_type": "application/pdf", "size": len(PDF)}
    url = file_out["url"]

    received = await (await client.get(f"/api/v1/orgs/{org.id}/broadcasts/received", headers=rita.headers)).json()
    assert received[0]["attachments"] == sent["attachments"]
    async with db.transaction() as tx:
        events = list(await tx.session.scalars(select(UserEvent.data).where(UserEvent.user_id == rita.id)))
    assert events[0]["attachments"][1]["url"] == url  # the device hears of the file with the notice

    whole = await client.get(url, headers=rita.headers)
    assert whole.status == 200 and await whole.read() == PDF
    assert whole.headers["Content-Disposition"] == "attachment; filename*=UTF-8''plan.pdf"
    part = await client.get(url, headers=rita.headers | {"Range": "bytes=100-1099"})
    assert part.status == 206 and await part.read() == PDF[100:1100]
    for reader in (org.admin, second_admin):
        assert await (await client.get(url, headers=reader.headers)).read() == PDF

    not_told = await client.get(url, headers=sam.headers)
    assert not_told.status == 404 and (await not_told.json())["error"]["code"] == "not_found"
    outsider = await person(client, db, "Otto Outsider")
    other = await make_org(db, outsider.user)
    assert (await client.get(url, headers=outsider.headers)).status == 404
    assert (await client.get(f"/api/v1/orgs/{other.id}/files/{file_out['file_id']}", headers=outsider.headers)).status == 404


async def test_a_file_not_sent_yet_is_its_uploaders_only_and_a_sent_one_cannot_be_taken_again(client, db, org, backend):
    rita = await signed_in_member(client, db, org, "Rita")
    upload_id = await upload(client, org.id, org.admin.headers, b"draft")
    async with db.transaction(org_id=org.id) as tx:
        file_id = await tx.session.scalar(select(StoredFile.id))
    url = f"/api/v1/orgs/{org.id}/files/{file_id}"
    assert await (await client.get(url, headers=org.admin.headers)).read() == b"draft"
    assert (await client.get(url, headers=rita.headers)).status == 404
    assert (await send(client, org, org.admin.headers, [{"upload_id": upload_id, "name": "Draft rota"}])).status == 201
    again = await send(client, org, org.admin.headers, [{"upload_id": upload_id}])
    error = (await again.json())["error"]
    assert again.status == 409 and error["code"] == "already_attached" and error["field"] == "attachments.0.upload_id"


async def test_uploads_that_cannot_be_attached_are_clear_4xx_and_nothing_is_sent(client, db, org, backend):
    granted = await signed_in_member(client, db, org, "Gus Sender")
    assert (await client.put(f"/api/v1/orgs/{org.id}/broadcast-senders/{granted.id}", headers=org.admin.headers)).status == 200
    mine = await upload(client, org.id, org.admin.headers, PDF)
    half = await upload(client, org.id, org.admin.headers, PDF, finish=False)
    theirs = await upload(client, org.id, granted.headers, PDF)
    group = await client.post(f"/api/v1/orgs/{org.id}/groups", json={"name": "Night shift"}, headers=org.admin.headers)
    group_upload = await client.post(f"/api/v1/orgs/{org.id}/groups/{(await group.json())['id']}/uploads",
                                     headers=org.admin.headers | TUS | {"Upload-Length": "3", "Upload-Metadata": metadata("a.txt", "text/plain")})
    cases = [
        ([{"upload_id": "0" * 32}], 400, "unknown_upload", "attachments.0.upload_id"),
        ([{"upload_id": mine}, {"upload_id": theirs}], 400, "unknown_upload", "attachments.1.upload_id"),  # someone else's reads as unknown
        ([{"upload_id": half}], 409, "upload_unfinished", "attachments.0.upload_id"),
        ([{"upload_id": group_upload.headers["Location"].rsplit("/", 1)[1]}], 400, "not_an_attachment", "attachments.0.upload_id"),
        ([{"upload_id": "../../etc/passwd"}], 400, "invalid", "attachments.0.upload_id"),
        ([{"upload_id": mine}, {"upload_id": mine}], 400, "invalid", "attachments"),
        ([{"upload_id": mine, "url": "https://example.org/x", "name": "x"}], 400, "invalid", "attachments.0"),
        ([{"url": "https://example.org/x"}], 400, "invalid", "attachments.0"),
        ([{"upload_id": mine}] + [{"name": f"link {i}", "url": "https://example.org/x"} for i in range(10)], 400, "invalid", "attachments"),
    ]
    for attachments, status, code, field in cases:
        resp = await send(client, org, org.admin.headers, attachments)
        error = (await resp.json())["error"]
        assert (resp.status, error["code"], error["field"]) == (status, code, field), (attachments, error)
        assert error["message"]
    unfinished = await send(client, org, org.admin.headers, [{"upload_id": half}])
    assert (await unfinished.json())["error"]["message"] == f"upload {half} has {len(PDF) // 2} of its {len(PDF)} bytes: finish it before sending"

    async with db.transaction(org_id=org.id) as tx:
        assert await tx.session.scalar(select(func.count()).select_from(Broadcast)) == 0
        assert await tx.session.scalar(select(func.count()).select_from(StoredFile).where(StoredFile.owner_id.is_not(None))) == 0
    assert (await send(client, org, org.admin.headers, [{"upload_id": mine}])).status == 201  # still there, and still attachable
    assert (await send(client, org, granted.headers, [{"upload_id": theirs}])).status == 201


async def test_only_senders_upload_attachments_within_the_size_limit(client, db, org, settings, backend):
    member = await signed_in_member(client, db, org, "Mo Member")
    refused = await create(client, org.id, member.headers, 10)
    assert refused.status == 403 and "may not send" in (await refused.json())["error"]["message"]
    settings.upload_max_bytes = 1000
    too_big = await create(client, org.id, org.admin.headers, 1001)
    assert too_big.status == 413 and (await too_big.json())["error"]["field"] == "Upload-Length"
    outsider = await person(client, db, "Otto Outsider")
    assert (await create(client, org.id, outsider.headers, 10)).status == 404


async def test_an_unsent_file_gives_its_quota_back_when_terminated_or_abandoned(client, db, org, settings, backend):
    settings.org_quota_bytes = 1000
    terminated = await upload(client, org.id, org.admin.headers, b"x" * 800)
    assert (await create(client, org.id, org.admin.headers, 800)).status == 413
    assert (await client.delete(f"/api/v1/uploads/{terminated}", headers=org.admin.headers | TUS)).status == 204
    assert (await send(client, org, org.admin.headers, [{"upload_id": terminated}])).status == 400  # gone with its file
    abandoned = await upload(client, org.id, org.admin.headers, b"y" * 800)
    assert (await create(client, org.id, org.admin.headers, 800)).status == 413
    async with db.transaction(org_id=org.id) as tx:
        await tx.session.execute(update(StoredFile).values(created_at=utcnow() - ABANDONED_AFTER - dt.timedelta(minutes=1)))
    assert (await create(client, org.id, org.admin.headers, 800)).status == 201
    assert (await send(client, org, org.admin.headers, [{"upload_id": abandoned}])).status == 400
    async with db.transaction(org_id=org.id) as tx:
        assert list(await tx.session.scalars(select(StoredFile.id))) == []


async def test_a_sent_file_stays_when_its_upload_is_terminated_and_expiry_leaves_it_alone(client, db, org, settings, backend):
    settings.org_quota_bytes = 1000
    upload_id = await upload(client, org.id, org.admin.headers, b"z" * 600)
    sent = await (await send(client, org, org.admin.headers, [{"upload_id": upload_id}])).json()
    assert (await client.delete(f"/api/v1/uploads/{upload_id}", headers=org.admin.headers | TUS)).status == 204
    async with db.transaction(org_id=org.id) as tx:
        await tx.session.execute(update(StoredFile).values(created_at=utcnow() - ABANDONED_AFTER - dt.timedelta(days=30)))
    assert (await create(client, org.id, org.admin.headers, 600)).status == 413  # the sent file still holds its 600 bytes
    assert await (await client.get(sent["attachments"][0]["url"], headers=org.admin.headers)).read() == b"z" * 600


async def test_two_sends_racing_for_one_file_attach_it_once(client, db, org, backend):
    upload_id = await upload(client, org.id, org.admin.headers, PDF)
    answers = await asyncio.gather(*(send(client, org, org.admin.headers, [{"upload_id": upload_id}]) for _ in range(4)))
    assert sorted(r.status for r in answers) == [201, 409, 409, 409]
    async with db.transaction(org_id=org.id) as tx:
        assert await tx.session.scalar(select(func.count()).select_from(Broadcast)) == 1


async def test_openapi_describes_file_attachments_and_where_to_upload_and_read_them(client):
    doc = await (await client.get("/api/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    assert {"name", "url", "upload_id"} <= schemas["AttachmentIn"]["properties"].keys()
    assert {"file_id", "content_type", "size"} <= schemas["AttachmentOut"]["properties"].keys()
    assert "post" in doc["paths"]["/api/v1/orgs/{org_id}/broadcast-attachments"]
    assert "get" in doc["paths"]["/api/v1/orgs/{org_id}/files/{file_id}"]
