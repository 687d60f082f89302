"""An external contact sends a photo in their chat (tus), and nothing after being removed."""
from __future__ import annotations

from tests.server.contacts.conftest import add_contact
from tests.server.groups.test_uploads import OCTETS, TUS, create
from tests.server.orgs.conftest import ok


async def test_an_external_contact_uploads_into_their_chat_and_the_staff_member_downloads_it(client, db, org):
    mum, joined = await add_contact(client, db, org, org.nurse)
    chat = joined["chat_group_id"]
    resp = await create(client, org, chat, mum, 4, filename="rash.jpg", filetype="image/jpeg")
    assert resp.status == 201, await resp.text()
    done = await client.patch(resp.headers["Location"], data=b"\xff\xd8ok", headers=mum.headers | TUS | OCTETS | {"Upload-Offset": "0"})
    assert done.status == 204, await done.text()
    file_id = done.headers["Muster-File-Id"]
    got = await client.get(org.url(f"/groups/{chat}/files/{file_id}"), headers=org.nurse.headers)
    assert got.status == 200 and await got.read() == b"\xff\xd8ok"
    # the files' own route asks the group too, which admits her (the chat's images show their thumbnails to her)
    assert (await client.get(org.url(f"/files/{file_id}"), headers=mum.headers)).status == 200
    dad, _ = await add_contact(client, db, org, org.nurse)  # a contact of the same organisation, not in that chat
    assert (await client.get(org.url(f"/files/{file_id}"), headers=dad.headers)).status == 404


async def test_a_removed_external_contact_cannot_send_another_byte(client, db, org):
    mum, joined = await add_contact(client, db, org, org.nurse)
    resp = await create(client, org, joined["chat_group_id"], mum, 10)
    await ok(await client.delete(org.url(f"/contacts/{joined['contact_id']}"), headers=org.nurse.headers), 204)
    late = await client.patch(resp.headers["Location"], data=b"0123456789", headers=mum.headers | TUS | OCTETS | {"Upload-Offset": "0"})
    assert late.status == 404
