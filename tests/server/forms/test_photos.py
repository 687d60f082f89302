"""Photos answering photo fields: uploaded as the ``form`` file owner, given to one submission, read by whom the rules say."""
from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from server.accounts.auth import Principal
from server.errors import Conflict, InvalidInput
from server.forms.definition import FormDefinition
from server.forms.photos import do_attach_photos, register_form_photo_readers
from server.orgs.access import OrgContext
from tests.server.orgs.conftest import join

DEFINITION = FormDefinition.model_validate({"fields": [{"name": "rash", "type": "photo", "label": "A photo of the rash"}]})
SUBMISSION = 77  # the id of the submission the photo answers (rounds keeps submissions)


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(out, "PNG")
    return out.getvalue()


def metadata(filetype: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in (("filename", "rash.png"), ("filetype", filetype)))


async def upload_photo(client, org, person, filetype: str = "image/png") -> int:
    data = png()
    headers = person.headers | {"Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)), "Upload-Metadata": metadata(filetype)}
    async with client.post(org.url("/form-photos"), headers=headers) as resp:
        assert resp.status == 201, await resp.text()
        location = resp.headers["Location"]
    headers = person.headers | {"Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    async with client.patch(location, data=data, headers=headers) as resp:
        assert resp.status == 204, await resp.text()
        return int(resp.headers["Muster-File-Id"])


def context(org, person, role: str = "member") -> OrgContext:
    return OrgContext(org.id, Principal(person.id, 1, person.user.name), 1, role)


async def test_a_photo_is_read_by_its_uploader_then_by_whom_the_registered_rule_admits(app, client, db, org):
    parent = await join(db, org.id, "member", "Parent Pan")
    teacher = await join(db, org.id, "member", "Teacher Tan")
    file_id = await upload_photo(client, org, parent)
    url = org.url(f"/files/{file_id}")
    assert (await client.get(url, headers=parent.headers)).status == 200
    assert (await client.get(url, headers=teacher.headers)).status == 404
    assert (await client.get(url, headers=org.owner.headers)).status == 404  # an admin is no reader by role alone

    async with db.transaction(org_id=org.id) as tx:
        await do_attach_photos(tx, context(org, parent), DEFINITION, {"rash": file_id}, SUBMISSION)
    assert (await client.get(url, headers=teacher.headers)).status == 404

    async def teachers_see_answers(tx, caller: OrgContext, owner_id: int) -> bool:
        return caller.user_id == teacher.id and owner_id == SUBMISSION

    register_form_photo_readers(app, teachers_see_answers)
    assert (await client.get(url, headers=teacher.headers)).status == 200
    assert (await client.get(url, headers=parent.headers)).status == 200  # who submitted it


async def test_a_photo_answers_one_submission_only_and_only_its_uploaders(client, db, org):
    parent = await join(db, org.id)
    other = await join(db, org.id)
    file_id = await upload_photo(client, org, parent)
    with pytest.raises(InvalidInput) as caught:
        async with db.transaction(org_id=org.id) as tx:
            await do_attach_photos(tx, context(org, other), DEFINITION, {"rash": file_id}, SUBMISSION)
    assert caught.value.field == "rash"
    async with db.transaction(org_id=org.id) as tx:
        await do_attach_photos(tx, context(org, parent), DEFINITION, {"rash": file_id}, SUBMISSION)
    async with db.transaction(org_id=org.id) as tx:  # an edit of the same submission keeps it
        await do_attach_photos(tx, context(org, parent), DEFINITION, {"rash": file_id}, SUBMISSION)
    with pytest.raises(Conflict):
        async with db.transaction(org_id=org.id) as tx:
            await do_attach_photos(tx, context(org, parent), DEFINITION, {"rash": file_id}, SUBMISSION + 1)


async def test_only_images_are_form_photos(client, db, org):
    headers = org.owner.headers | {"Tus-Resumable": "1.0.0", "Upload-Length": "5", "Upload-Metadata": metadata("text/html")}
    resp = await client.post(org.url("/form-photos"), headers=headers)
    assert resp.status == 415 and (await resp.json())["error"]["field"] == "Upload-Metadata"
