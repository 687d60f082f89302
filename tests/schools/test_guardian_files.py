"""Files a guardian reads: the platform's download routes let an outsider in, and ask only the file owners open to
outsiders, each deciding as for anyone (a notice's recipients, a photo's submitter and those who answer for its child,
an external group's members). Every other file of the bureau is 404 to them, like one that does not exist."""
from __future__ import annotations

import base64
import io
import uuid

from PIL import Image

from tests.notify.test_attachments import PDF, upload
from tests.schools.forms_world import closes_in
from tests.schools.conftest import Bureau
from tests.server.forms.rounds_world import make_form
from tests.server.orgs.conftest import ok

TUS = {"Tus-Resumable": "1.0.0"}
PHOTO_FORM = {"fields": [{"name": "rash", "type": "photo", "label": "A photo of the rash"}]}


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(out, "PNG")
    return out.getvalue()


async def tus(client, url: str, headers: dict, data: bytes, filename: str, filetype: str) -> int:
    """A whole tus upload in one PATCH; the stored file's id."""
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in (("filename", filename), ("filetype", filetype)))
    created = await client.post(url, headers=headers | TUS | {"Upload-Length": str(len(data)), "Upload-Metadata": meta})
    assert created.status == 201, await created.text()
    resp = await client.patch(created.headers["Location"], data=data,
                              headers=headers | TUS | {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert resp.status == 204, await resp.text()
    return int(resp.headers["Muster-File-Id"])


async def notice_with_file(client, bureau: Bureau, class_key: str) -> str:
    """A notice to the families of a class with a PDF attached; the file's URL."""
    upload_id = await upload(client, bureau.org.id, bureau.owner, PDF)
    body = {"title": "Sports day", "body": "The plan is attached.", "attachments": [{"upload_id": upload_id}],
            "recipients": {"parts": {"families": [bureau.units[class_key]]}}}
    sent = await ok(await client.post(bureau.org.url("/broadcasts"), json=body, headers=bureau.owner), 201)
    return sent["attachments"][0]["url"]


async def test_a_guardian_reads_their_notices_files_and_no_other(client, bureau: Bureau):
    liu, zhang = await bureau.guardian("+8613900000003"), await bureau.guardian("+8613900000004")  # G1C1, G1C2
    theirs, others = await notice_with_file(client, bureau, "S0101-G1C1"), await notice_with_file(client, bureau, "S0101-G1C2")
    received = await ok(await client.get(bureau.org.url("/broadcasts/received"), headers=liu))
    assert [a["url"] for a in received[0]["attachments"]] == [theirs]
    whole = await client.get(theirs, headers=liu)
    assert whole.status == 200 and await whole.read() == PDF
    part = await client.get(theirs, headers=liu | {"Range": "bytes=0-99"})
    assert part.status == 206 and await part.read() == PDF[:100]
    assert (await client.get(others, headers=liu)).status == 404
    assert (await client.get(others, headers=zhang)).status == 200
    assert (await client.get(theirs, headers=zhang)).status == 404


async def test_a_guardian_reads_the_photo_they_answered_with_and_nobody_elses(client, db, bureau: Bureau):
    liu, wang = await bureau.guardian("+8613900000003"), await bureau.guardian("+8613900000001")  # both have a child in G1C1
    form = await make_form(db, bureau.org.id, bureau.org.owner.id, PHOTO_FORM)
    body = {"audience": {"department_ids": [bureau.units["S0101-G1C1"]]}, "respondent_kind": "student", "closes_at": closes_in()}
    round_id = (await ok(await client.post(bureau.org.url(f"/forms/{form}/rounds"), json=body, headers=bureau.owner), 201))["id"]
    photo = png()
    file_id = await tus(client, bureau.org.url("/form-photos"), liu, photo, "rash.png", "image/png")
    answer = {"client_id": uuid.uuid4().hex, "respondent_id": bureau.students["P0003"], "answers": {"rash": file_id}}
    await ok(await client.post(bureau.org.url(f"/rounds/{round_id}/submissions"), json=answer, headers=liu), 201)
    url = bureau.org.url(f"/files/{file_id}")
    got = await client.get(url, headers=liu)
    assert got.status == 200 and await got.read() == photo
    thumb = await client.get(url + "/thumbnail", headers=liu)
    assert thumb.status == 200 and thumb.headers["Content-Type"] == "image/jpeg"
    assert (await client.get(url, headers=wang)).status == 404  # another family of the class
    assert (await client.get(url + "/thumbnail", headers=wang)).status == 404
    assert (await client.get(url, headers=await bureau.staff("T0004"))).status == 200  # the head teacher sees the class's answers


async def test_a_guardian_reads_files_of_their_class_group_only_and_nothing_unknown(client, bureau: Bureau):
    liu = await bureau.guardian("+8613900000003")
    chen = await bureau.staff("T0004")
    class_group = (await ok(await client.post(bureau.url(f"/units/{bureau.units['S0101-G1C1']}/group"), headers=chen), 201))["group_id"]
    staff_group = (await ok(await client.post(bureau.org.url("/groups"), json={"name": "Teachers"}, headers=chen), 201))["id"]
    in_class = await tus(client, bureau.org.url(f"/groups/{class_group}/uploads"), chen, png(), "class.png", "image/png")
    in_staff = await tus(client, bureau.org.url(f"/groups/{staff_group}/uploads"), chen, png(), "staff.png", "image/png")
    assert (await client.get(bureau.org.url(f"/files/{in_class}/thumbnail"), headers=liu)).status == 200
    for url in (f"/files/{in_staff}", f"/files/{in_staff}/thumbnail", f"/files/{in_class + in_staff + 1000}"):
        assert (await client.get(bureau.org.url(url), headers=liu)).status == 404, url
