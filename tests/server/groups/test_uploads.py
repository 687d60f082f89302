"""Files: tus 1.0 resumable uploads (core, creation, termination, checksum) and downloads with Range, for members only."""
from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib

from sqlalchemy import select, update

from server.db import utcnow
from server.files import storage
from server.files.models import OrgStorage, Upload
from server.files.storage import do_expire_abandoned, expire_abandoned_forever, files_dir, uploads_dir
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


async def send(client, location, person, data: bytes, offset: int = 0):
    return await client.patch(location, data=data, headers=person.headers | TUS | OCTETS | {"Upload-Offset": str(offset)})


async def held_bytes(db, org) -> int:
    async with db.transaction(org_id=org.id) as tx:
        return await tx.session.scalar(select(OrgStorage.reserved_bytes).where(OrgStorage.org_id == org.id)) or 0


async def test_limits_and_protocol_errors_are_clear_4xx(client, db, settings):
    settings.upload_max_bytes = 1000
    settings.org_quota_bytes = 1500
    org = await make_people_org(client, db, 1)
    group = await create_group(client, org)
    too_big = await create(client, org, group["id"], org.owner, 1001)
    assert too_big.status == 413 and (await too_big.json())["error"]["field"] == "Upload-Length"
    full = (await create(client, org, group["id"], org.owner, 1000)).headers["Location"]
    assert (await send(client, full, org.owner, b"x" * 1000)).status == 204
    over_quota = await create(client, org, group["id"], org.owner, 600)  # could never fit: refused before any byte is sent
    assert over_quota.status == 413 and (await over_quota.json())["error"]["code"] == "quota_exceeded"
    location = (await create(client, org, group["id"], org.owner, 100)).headers["Location"]
    no_version = await client.patch(location, data=b"x", headers=org.owner.headers | OCTETS | {"Upload-Offset": "0"})
    wrong_type = await client.patch(location, data=b"x", headers=org.owner.headers | TUS | {"Upload-Offset": "0", "Content-Type": "text/plain"})
    someone_else = await client.head(location, headers=org.people[0].headers | TUS)
    non_member = await create(client, org, 999999, org.owner, 10)
    assert (no_version.status, wrong_type.status, someone_else.status, non_member.status) == (412, 415, 404, 404)


async def test_termination_forgets_the_upload_and_gives_back_what_it_held(client, db, org):
    group = await create_group(client, org)
    location = (await create(client, org, group["id"], org.owner, 10)).headers["Location"]
    await send(client, location, org.owner, b"abc")
    assert await held_bytes(db, org) == 10  # reserved ahead of the bytes, never past the length
    assert (await client.delete(location, headers=org.owner.headers | TUS)).status == 204
    assert (await client.head(location, headers=org.owner.headers | TUS)).status == 404
    assert await held_bytes(db, org) == 0


async def test_declaring_a_large_upload_holds_no_quota_until_its_bytes_arrive(client, db, settings):
    settings.org_quota_bytes = 1000
    org = await make_people_org(client, db, 1)
    group = await create_group(client, org)
    squatter = await create(client, org, group["id"], org.people[0], 1000)
    assert squatter.status == 201 and await held_bytes(db, org) == 0
    honest = (await create(client, org, group["id"], org.owner, 1000)).headers["Location"]
    assert (await send(client, honest, org.owner, b"y" * 1000)).status == 204
    late = await send(client, squatter.headers["Location"], org.people[0], b"z" * 10)
    assert late.status == 413 and (await late.json())["error"]["code"] == "quota_exceeded"
    assert await offset_of(client, squatter.headers["Location"], org.people[0]) == 0 and await held_bytes(db, org) == 1000


async def test_concurrent_uploads_never_store_more_than_the_quota_and_termination_gives_it_back(client, db, settings):
    settings.org_quota_bytes = 1000
    org = await make_people_org(client, db, 0)
    group = await create_group(client, org)
    locations = [(await create(client, org, group["id"], org.owner, 300)).headers["Location"] for _ in range(8)]
    answers = await asyncio.gather(*(send(client, location, org.owner, b"q" * 300) for location in locations))
    finished = [location for location, r in zip(locations, answers) if r.status == 204]
    refused = [r for r in answers if r.status != 204]
    assert len(finished) == 3 and {r.status for r in refused} == {413}
    assert {(await r.json())["error"]["code"] for r in refused} == {"quota_exceeded"}
    assert await held_bytes(db, org) == 900
    assert (await client.delete(locations[answers.index(refused[0])], headers=org.owner.headers | TUS)).status == 204
    assert await held_bytes(db, org) == 900


async def test_an_unfinished_upload_idle_for_a_day_is_swept_with_its_bytes_and_its_quota(client, db, settings):
    org = await make_people_org(client, db, 0)
    group = await create_group(client, org)
    idle = (await create(client, org, group["id"], org.owner, 800)).headers["Location"]
    active = (await create(client, org, group["id"], org.owner, 800)).headers["Location"]
    await send(client, idle, org.owner, b"abc")
    await send(client, active, org.owner, b"abc")  # both now hold their whole length
    async with db.transaction(org_id=org.id) as tx:
        await tx.session.execute(update(Upload).values(updated_at=utcnow() - dt.timedelta(hours=settings.upload_idle_hours, minutes=1)))
    await send(client, active, org.owner, b"def", offset=3)  # bytes arriving keep an upload alive, reserved ahead or not
    assert await held_bytes(db, org) == 1600
    async with db.transaction() as tx:  # what every node does every few minutes, for every organisation
        assert await do_expire_abandoned(tx, settings)
    assert (await client.head(idle, headers=org.owner.headers | TUS)).status == 404
    assert not (uploads_dir(settings) / idle.rsplit("/", 1)[1]).exists()
    assert await offset_of(client, active, org.owner) == 6 and await held_bytes(db, org) == 800


async def test_every_node_sweeps_abandoned_uploads_on_its_own(client, db, settings, monkeypatch):
    org = await make_people_org(client, db, 0)
    group = await create_group(client, org)
    idle = (await create(client, org, group["id"], org.owner, 800)).headers["Location"]
    await send(client, idle, org.owner, b"abc")
    async with db.transaction(org_id=org.id) as tx:
        await tx.session.execute(update(Upload).values(updated_at=utcnow() - dt.timedelta(hours=settings.upload_idle_hours, minutes=1)))
    monkeypatch.setattr(storage, "SWEEP_EVERY_S", 0.05)
    sweeper = asyncio.create_task(expire_abandoned_forever(db, settings))
    try:
        for _ in range(100):
            if await held_bytes(db, org) == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        sweeper.cancel()
    assert await held_bytes(db, org) == 0 and (await client.head(idle, headers=org.owner.headers | TUS)).status == 404


async def test_a_person_may_have_only_so_many_unfinished_uploads_even_when_creating_them_at_once(client, db, settings):
    settings.upload_unfinished_per_person = 2
    org = await make_people_org(client, db, 1)
    group = await create_group(client, org)
    answers = await asyncio.gather(*(create(client, org, group["id"], org.owner, 10) for _ in range(6)))
    created = [r for r in answers if r.status == 201]
    refused = [r for r in answers if r.status != 201]
    assert len(created) == 2 and {(r.status, (await r.json())["error"]["code"]) for r in refused} == {(413, "too_many_uploads")}
    assert "MUSTER_UPLOAD_UNFINISHED_PER_PERSON" in (await refused[0].json())["error"]["message"]
    assert (await create(client, org, group["id"], org.people[0], 10)).status == 201  # another person's allowance is their own
    assert (await send(client, created[0].headers["Location"], org.owner, b"0123456789")).status == 204
    assert (await create(client, org, group["id"], org.owner, 10)).status == 201  # a finished upload no longer counts


async def test_a_person_may_declare_only_so_many_bytes_in_unfinished_uploads(client, db, settings):
    settings.upload_max_bytes = 1000
    settings.upload_unfinished_bytes_per_person = 1500
    org = await make_people_org(client, db, 0)
    group = await create_group(client, org)
    first = (await create(client, org, group["id"], org.owner, 1000)).headers["Location"]
    refused = await create(client, org, group["id"], org.owner, 600)
    error = (await refused.json())["error"]
    assert refused.status == 413 and error["code"] == "too_many_upload_bytes" and "1600" in error["message"]
    assert (await client.delete(first, headers=org.owner.headers | TUS)).status == 204
    assert (await create(client, org, group["id"], org.owner, 600)).status == 201


async def test_a_guest_may_upload_only_small_files_and_few_bytes_at_once(client, db, settings, org):
    settings.guest_upload_max_bytes = 1000
    group = await create_group(client, org, allow_guests=True)
    invite = await client.post(org.url("/guest-invites"), json={"scope_kind": "group", "scope_id": group["id"]}, headers=org.owner.headers)
    joined = await client.post("/api/v1/guest-sessions", json={"invite_token": (await invite.json())["token"], "display_name": "Visitor"})
    guest = type(org.owner)(None, "", {"Authorization": f"Bearer {(await joined.json())['token']}"})
    too_big = await create(client, org, group["id"], guest, 1001)
    assert too_big.status == 413 and "guests' files may be at most 1000 bytes" in (await too_big.json())["error"]["message"]
    assert (await create(client, org, group["id"], guest, 600)).status == 201
    second = await create(client, org, group["id"], guest, 600)
    assert second.status == 413 and "MUSTER_GUEST_UPLOAD_MAX_BYTES" in (await second.json())["error"]["message"]
    assert (await create(client, org, group["id"], org.owner, 5000)).status == 201  # members keep their own limits


async def test_a_recalled_file_cannot_be_downloaded_by_anyone_and_gives_its_quota_back(client, db, settings, org):
    group = await create_group(client, org)
    location = (await create(client, org, group["id"], org.people[0], 5)).headers["Location"]
    done = await send(client, location, org.people[0], b"12345")
    file_id, seq = done.headers["Muster-File-Id"], done.headers["Muster-Message-Seq"]
    urls = [org.url(f"/groups/{group['id']}/files/{file_id}"), org.url(f"/files/{file_id}")]
    assert (await client.get(urls[0], headers=org.owner.headers)).status == 200 and await held_bytes(db, org) == 5
    recalled = await client.post(org.url(f"/groups/{group['id']}/messages/{seq}/recall"), headers=org.people[0].headers)
    assert recalled.status == 200 and (await recalled.json())["file"] is None
    for person in (org.owner, org.people[0], org.people[1]):  # the group's owner, the sender, a member
        for url in urls:
            assert (await client.get(url, headers=person.headers)).status == 404, (url, person.email)
    assert await held_bytes(db, org) == 0 and list(files_dir(settings).iterdir()) == []  # its bytes are gone too
