"""Taking a person out of an organisation takes effect at once, everywhere: group messages on a socket
they had or open, requests into the organisation, uploads they started; a demotion on the next request."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from server.files.models import OrgStorage, Upload
from server.groups.fanout import FANOUT
from server.orgs.models import Membership
from tests.server.gateway.sockets import connect, token_of
from tests.server.groups.conftest import create_group, make_people_org, post
from tests.server.groups.test_uploads import OCTETS, TUS, create


@pytest.fixture
async def org(client, db):
    return await make_people_org(client, db, 2)


async def _live(client, person):
    device = await connect(client.session, str(client.make_url("/api/v1/ws")), token_of(person.headers))
    await device.until_ready()
    return device


async def _membership_id(db, org_id: int, user_id: int) -> int:
    async with db.transaction(org_id=org_id) as tx:
        return await tx.session.scalar(select(Membership.id).where(Membership.user_id == user_id))


async def _remove(client, db, org, person) -> None:
    member_id = await _membership_id(db, org.id, person.id)
    resp = await client.delete(org.url(f"/members/{member_id}"), headers=org.owner.headers)
    assert resp.status == 204, await resp.text()


async def _group_frames_before_pong(device) -> list[dict]:
    """What the device hears before the answer to a ping: group frames it should not get, personal events it may."""
    await device.send({"type": "ping"})
    heard = []
    while (frame := await device.next_frame()) != {"type": "pong"}:
        heard.append(frame)
    return [f for f in heard if f["type"].startswith("group.")]


async def test_a_removed_member_gets_no_more_group_messages_on_an_open_socket_or_a_new_one(client, app, db, org):
    leaver, stayer = org.people
    group = await create_group(client, org, member_ids=[leaver.id, stayer.id])
    old_socket, witness = await _live(client, leaver), await _live(client, stayer)
    await post(client, org, group["id"], org.owner, "before")  # fills this node's member cache
    assert (await old_socket.next_frame())["message"]["body"] == "before"
    assert (await witness.next_frame())["message"]["body"] == "before"

    await _remove(client, db, org, leaver)
    await post(client, org, group["id"], org.owner, "after")
    new_socket = await _live(client, leaver)
    await post(client, org, group["id"], org.owner, "later")

    assert [f["message"]["body"] for f in [await witness.next_frame(), await witness.next_frame()]] == ["after", "later"]
    assert await _group_frames_before_pong(old_socket) == []
    assert await _group_frames_before_pong(new_socket) == []
    assert app[FANOUT].delivered == 2 + 2  # "before" to both, then only the one who stayed
    for path in ("/groups", f"/groups/{group['id']}/messages", "/members"):
        assert (await client.get(org.url(path), headers=leaver.headers)).status == 404
    members = await (await client.get(org.url(f"/groups/{group['id']}/members"), headers=org.owner.headers)).json()
    assert leaver.id not in [m["user_id"] for m in members["members"]]


async def test_a_removed_member_hears_they_left_each_group(client, db, org):
    leaver = org.people[0]
    groups = [await create_group(client, org, name=name, member_ids=[leaver.id]) for name in ("One", "Two")]
    device = await _live(client, leaver)
    await _remove(client, db, org, leaver)
    frames = await device.events(2)
    assert sorted((f["event"], f["data"]["group_id"]) for f in frames) == sorted(("group.removed", g["id"]) for g in groups)


async def test_an_upload_a_removed_member_started_is_cancelled_and_never_posts(client, app, db, settings, org):
    leaver = org.people[0]
    group = await create_group(client, org, member_ids=[leaver.id])
    resp = await create(client, org, group["id"], leaver, 1000)
    assert resp.status == 201, await resp.text()
    location = resp.headers["Location"]
    first = await client.patch(location, data=b"x" * 400, headers=leaver.headers | TUS | OCTETS | {"Upload-Offset": "0"})
    assert first.status == 204

    await _remove(client, db, org, leaver)

    rest = await client.patch(location, data=b"x" * 600, headers=leaver.headers | TUS | OCTETS | {"Upload-Offset": "400"})
    assert rest.status == 404
    assert (await client.head(location, headers=leaver.headers | TUS)).status == 404
    assert (await create(client, org, group["id"], leaver, 10)).status == 404
    history = await (await client.get(org.url(f"/groups/{group['id']}/messages"), headers=org.owner.headers)).json()
    assert history["messages"] == []
    for _ in range(50):  # cancelled by every node's listener, after the removal's commit
        async with db.transaction(org_id=org.id) as tx:
            left = await tx.session.scalar(select(Upload.id)), await tx.session.scalar(select(OrgStorage.reserved_bytes))
        if left == (None, 0) and not list((settings.data_dir / "uploads").iterdir()):
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError(f"the upload was not cancelled within a second: {left}")


async def test_a_demoted_admin_loses_admin_rights_on_the_next_request(client, db, org):
    admin = org.people[0]
    member_id = await _membership_id(db, org.id, admin.id)
    promoted = await client.patch(org.url(f"/members/{member_id}"), json={"role": "admin"}, headers=org.owner.headers)
    assert promoted.status == 200
    body = {"display_name": "New person"}
    assert (await client.post(org.url("/members"), json=body, headers=admin.headers)).status == 201
    demoted = await client.patch(org.url(f"/members/{member_id}"), json={"role": "member"}, headers=org.owner.headers)
    assert demoted.status == 200
    assert (await client.post(org.url("/members"), json={"display_name": "Another"}, headers=admin.headers)).status == 403


async def test_removal_reaches_an_open_socket_within_a_second(client, db, org):
    leaver, stayer = org.people
    group = await create_group(client, org, member_ids=[leaver.id, stayer.id])
    old_socket, witness = await _live(client, leaver), await _live(client, stayer)
    started = asyncio.get_running_loop().time()
    await _remove(client, db, org, leaver)
    await post(client, org, group["id"], org.owner, "right after")
    assert (await witness.next_frame())["message"]["body"] == "right after"
    assert await _group_frames_before_pong(old_socket) == []
    assert asyncio.get_running_loop().time() - started < 1.0
