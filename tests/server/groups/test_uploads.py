"""Files: tus 1.0 resumable uploads (core, creation, termination, checksum) and downloads with Range, for members only."""
from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib

from sqlalchemy import update

from server.db import utcnow
from server.files.models import Upload
from server.files.storage import ABANDONED_AFTER
from tests.server.groups.conftest import create_group, make_people_org

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {"Content-Type": "application/offset+octet-stream"}


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def sha1(data: bytes) -> str:
    return "sha1 " + base64.b64encode(hashlib.sha1(data).digest()).decode()


async def create(client, org, group_id, person, length: int, filename="report.pdf", filetype="application/pdf"):
    return await client.post(
        org.url(f"/groups/{group_id}/uploads"),
        headers=person.headers | TUS | {"Upload-Length": str(length), "Upload-Metadata": metadata(filename=filename, filetype=filetype)},
    )


async def offset_of(client, location, person) -> int:
    resp = await client.head(location, headers=person.headers | TUS)
    assert resp.status == 200, resp.status
    return int(resp.headers["Upload-Offset"])


async def test_options_says_what_the_server_speaks(client, settings):
    resp = await client.options("/api/v1/uploads")
    assert resp.status == 204 and resp.headers["Tus-Version"] == "1.0.0"
    assert set(resp.headers["Tus-Extension"].split(",")) == {"creation", "termination", "checksum"}
    assert int(resp.headers["Tus-Max-Size"]) == settings.upload_max_bytes


async def test_an_upload_in_two_patches_becomes_a_file_message_that_members_download_with_range(client, org):
    group = await create_group(client, org, member_ids=[org.people[0].id])
    data = bytes(range(256)) * 1000
    resp = await create(client, org, group["id"], org.people[0], len(data))
    assert resp.status == 201, await resp.text()
    location = resp.headers["Location"]
    first = await client.patch(location, data=data[:100_000], headers=org.people[0].headers | TUS | OCTETS | {"Upload-Offset": "0", "Upload-Checksum": sha1(data[:100_000])})
    assert first.status == 204 and first.headers["Upload-Offset"] == "100000"
    assert await offset_of(client, location, org.people[0]) == 100_000
    last = await client.patch(location, data=data[100_000:], headers=org.people[0].headers | TUS | OCTETS | {"Upload-Offset": "100000"})
    assert last.status == 204 and last.headers["Upload-Offset"] == str(len(data))
    file_id, seq = last.headers["Muster-File-Id"], int(last.headers["Muster-Message-Seq"])

    history = await (await client.get(org.url(f"/groups/{group['id']}/messages"), headers=org.owner.headers)).json()
    message = history["messages"][-1]
    assert (message["seq"], message["kind"], message["body"]) == (seq, "file", "report.pdf")
    assert message["file"] == {"id": int(file_id), "filename": "report.pdf", "content_type": "application/pdf", "size": len(data)}
    url = org.url(f"/groups/{group['id']}/files/{file_id}")
    whole = await client.get(url, headers=org.owner.headers)
    assert whole.status == 200 and await whole.read() == data
    assert whole.headers["Content-Disposition"].startswith("attachment;")
    part = await client.get(url, headers=org.owner.headers | {"Range": "bytes=1000-1999"})
    assert part.status == 206 and await part.read() == data[1000:2000]
    assert (await client.get(url, headers=org.people[1].headers)).status == 403
    platform_url = org.url(f"/files/{file_id}")  # the same file where any owner's files are read: members only, others 404
    assert await (await client.get(platform_url, headers=org.people[0].headers | {"Range": "bytes=0-9"})).read() == data[:10]
    assert (await client.get(platform_url, headers=org.people[1].headers)).status == 404


async def test_a_patch_at_the_wrong_offset_is_409_and_keeps_what_was_stored(client, org):
    group = await create_group(client, org)
    location = (await create(client, org, group["id"], org.owner, 10)).headers["Location"]
    await client.patch(location, data=b"abcd", headers=org.owner.headers | TUS | OCTETS | {"Upload-Offset": "0"})
    resp = await client.patch(location, data=b"zz", headers=org.owner.headers | TUS | OCTETS | {"Upload-Offset": "2"})
    error = (await resp.json())["error"]
    assert resp.status == 409 and error["code"] == "offset_mismatch"
    assert error["message"] == "Upload-Offset is 2 but the server has 4 bytes; resume from 4"
    assert await offset_of(client, location, org.owner) == 4


async def test_a_checksum_mismatch_is_460_and_keeps_nothing_of_that_patch(client, org):
    group = await create_group(client, org)
    location = (await create(client, org, group["id"], org.owner, 10)).headers["Location"]
    await client.patch(location, data=b"abcd", headers=org.owner.headers | TUS | OCTETS | {"Upload-Offset": "0"})
    resp = await client.patch(location, data=b"efgh", headers=org.owner.headers | TUS | OCTETS | {"Upload-Offset": "4", "Upload-Checksum": sha1(b"other")})
    error = (await resp.json())["error"]
    assert resp.status == 460 and error["code"] == "checksum_mismatch" and "do not match Upload-Checksum" in error["message"]
    assert await offset_of(client, location, org.owner) == 4


async def test_a_dropped_connection_keeps_what_arrived_and_the_upload_resumes(client, org):
    group = await create_group(client, org)
    data = b"0123456789" * 50_000
    location = (await create(client, org, group["id"], org.owner, len(data))).headers["Location"]
    reader, writer = await asyncio.open_connection(client.host, client.port)
    head = (
        f"PATCH {location} HTTP/1.1\r\nHost: {client.host}\r\nAuthorization: {org.owner.headers['Authorization']}\r\n"
        f"Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    writer.write(head.encode() + data[:200_000])
    await writer.drain()
    await asyncio.sleep(0.3)
    writer.close()  # the radio went away mid-upload
    for _ in range(50):
        offset = await offset_of(client, location, org.owner)
        if offset == 200_000:
            break
        await asyncio.sleep(0.1)
    assert offset == 200_000
    resp = await client.patch(location, data=data[offset:], headers=org.owner.headers | TUS | OCTETS | {"Upload-Offset": str(offset)})
    assert resp.status == 204
    download = await client.get(org.url(f"/groups/{group['id']}/files/{resp.headers['Muster-File-Id']}"), headers=org.owner.headers)
    assert await download.read() == data


async def test_limits_and_protocol_errors_are_clear_4xx(client, db, settings):
    settings.upload_max_bytes = 1000
    settings.org_quota_bytes = 1500
    org = await make_people_org(client, db, 1)
    group = await create_group(client, org)
    too_big = await create(client, org, group["id"], org.owner, 1001)
    assert too_big.status == 413 and (await too_big.json())["error"]["field"] == "Upload-Length"
    assert (await create(client, org, group["id"], org.owner, 1000)).status == 201
    over_quota = await create(client, org, group["id"], org.owner, 600)
    assert over_quota.status == 413 and (await over_quota.json())["error"]["code"] == "quota_exceeded"
    location = (await create(client, org, group["id"], org.owner, 100)).headers["Location"]
    no_version = await client.patch(location, data=b"x", headers=org.owner.headers | OCTETS | {"Upload-Offset": "0"})
    wrong_type = await client.patch(location, data=b"x", headers=org.owner.headers | TUS | {"Upload-Offset": "0", "Content-Type": "text/plain"})
    someone_else = await client.head(location, headers=org.people[0].headers | TUS)
    non_member = await create(client, org, 999999, org.owner, 10)
    assert (no_version.status, wrong_type.status, someone_else.status, non_member.status) == (412, 415, 404, 404)


async def test_termination_forgets_the_upload(client, org):
    group = await create_group(client, org)
    location = (await create(client, org, group["id"], org.owner, 10)).headers["Location"]
    assert (await client.delete(location, headers=org.owner.headers | TUS)).status == 204
    assert (await client.head(location, headers=org.owner.headers | TUS)).status == 404


async def test_concurrent_creations_never_reserve_more_than_the_quota_and_termination_gives_it_back(client, db, settings):
    settings.org_quota_bytes = 1000
    org = await make_people_org(client, db, 0)
    group = await create_group(client, org)
    answers = await asyncio.gather(*(create(client, org, group["id"], org.owner, 300) for _ in range(8)))
    created = [r for r in answers if r.status == 201]
    refused = [r for r in answers if r.status != 201]
    assert len(created) == 3 and {r.status for r in refused} == {413}
    assert {(await r.json())["error"]["code"] for r in refused} == {"quota_exceeded"}
    assert (await client.delete(created[0].headers["Location"], headers=org.owner.headers | TUS)).status == 204
    assert (await create(client, org, group["id"], org.owner, 300)).status == 201
    assert (await create(client, org, group["id"], org.owner, 300)).status == 413


async def test_an_upload_abandoned_for_a_week_gives_its_quota_to_a_new_one(client, db, settings):
    settings.org_quota_bytes = 1000
    org = await make_people_org(client, db, 0)
    group = await create_group(client, org)
    abandoned = (await create(client, org, group["id"], org.owner, 800)).headers["Location"]
    await client.patch(abandoned, data=b"abc", headers=org.owner.headers | TUS | OCTETS | {"Upload-Offset": "0"})
    assert (await create(client, org, group["id"], org.owner, 800)).status == 413
    async with db.transaction(org_id=org.id) as tx:
        await tx.session.execute(update(Upload).values(created_at=utcnow() - ABANDONED_AFTER - dt.timedelta(minutes=1)))
    assert (await create(client, org, group["id"], org.owner, 800)).status == 201
    assert (await client.head(abandoned, headers=org.owner.headers | TUS)).status == 404
