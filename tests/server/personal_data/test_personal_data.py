"""A person's data in an organisation: exported whole for an admin, erased on request, every time in the audit log."""
from __future__ import annotations

from sqlalchemy import select

from server.accounts.models import DeviceSession, User
from server.files.models import OrgStorage, StoredFile
from server.orgs.models import Membership
from tests.factories import make_org
from tests.server.groups.conftest import create_group, join_org, post
from tests.server.groups.test_uploads import OCTETS, TUS, create
from tests.server.orgs.conftest import ok


def member_url(org, user_id_to_member: dict, person) -> str:
    return org.url(f"/members/{user_id_to_member[person.id]}")


async def member_ids(db, org) -> dict[int, int]:
    async with db.transaction(org_id=org.id) as tx:
        return dict((await tx.session.execute(select(Membership.user_id, Membership.id))).all())


async def test_an_admin_exports_everything_the_organisation_holds_about_a_member_and_it_is_audited(client, db, org):
    mei = org.people[0]
    group = await create_group(client, org, name="Ward 3")
    assert (await post(client, org, group["id"], mei, "night shift notes")).status == 201
    members = await member_ids(db, org)

    resp = await client.get(member_url(org, members, mei) + "/personal-data", headers=org.owner.headers)
    exported = await ok(resp)

    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert exported["user_id"] == mei.id
    assert exported["parts"]["organisation"]["membership"]["display_name"] == mei.user.name
    assert [m["body"] for m in exported["parts"]["groups"]["messages"]] == ["night shift notes"]
    assert [g["name"] for g in exported["parts"]["groups"]["memberships"]] == ["Ward 3"]
    log = await ok(await client.get(org.url("/audit"), params={"action": "member.data_exported"}, headers=org.owner.headers))
    assert [(e["target_id"], e["actor_user_id"]) for e in log["items"]] == [(members[mei.id], org.owner.id)]


async def test_members_cannot_export_or_erase_anyone_and_other_organisations_see_nothing(client, db, org):
    mei, lu = org.people[0], org.people[1]
    members = await member_ids(db, org)
    outsider_org = await make_org(db, lu.user)  # lu owns another organisation

    assert (await client.get(member_url(org, members, lu) + "/personal-data", headers=mei.headers)).status == 403
    resp = await client.post(member_url(org, members, lu) + "/erasure", json={"confirm": True}, headers=mei.headers)
    assert resp.status == 403
    other = f"/api/v1/orgs/{outsider_org.id}/members/{members[mei.id]}/personal-data"
    assert (await client.get(other, headers=lu.headers)).status == 404


async def test_erasure_recalls_the_persons_messages_removes_them_and_deletes_an_account_with_no_other_organisation(client, db, org):
    mei, lu = org.people[0], org.people[1]
    group = await create_group(client, org, name="Ward 3")
    sent = await ok(await post(client, org, group["id"], mei, "patient in bed 4"), 201)
    mine = await ok(await post(client, org, group["id"], lu, "thanks"), 201)
    react = org.url(f"/groups/{group['id']}/messages/{mine['seq']}/reactions")
    await ok(await client.put(react, json={"emoji": "👍"}, headers=mei.headers))
    data = b"x-ray image" * 100
    upload = (await create(client, org, group["id"], mei, len(data))).headers["Location"]
    done = await client.patch(upload, data=data, headers=mei.headers | TUS | OCTETS | {"Upload-Offset": "0"})
    file_id = int(done.headers["Muster-File-Id"])
    members = await member_ids(db, org)

    resp = await client.post(member_url(org, members, mei) + "/erasure", json={"confirm": True}, headers=org.owner.headers)
    result = await ok(resp)

    assert result["account_deleted"] is True
    assert result["erased"]["groups"] == {"messages": 2, "reactions": 1, "announcement_opens": 0}
    assert result["erased"]["files"] == {"files": 1, "uploads": 0, "bytes": len(data)}
    assert (await client.get(org.url(f"/files/{file_id}"), headers=org.owner.headers)).status == 404
    async with db.transaction() as tx:
        assert await tx.session.get(StoredFile, file_id) is None
        assert await tx.session.scalar(select(OrgStorage.reserved_bytes).where(OrgStorage.org_id == org.id)) == 0
    history = await ok(await client.get(org.url(f"/groups/{group['id']}/messages"), headers=lu.headers))
    by_seq = {m["seq"]: m for m in history["messages"]}
    assert by_seq[sent["seq"]]["body"] == "" and by_seq[sent["seq"]]["recalled_at"] is not None
    assert by_seq[sent["seq"]]["change_seq"] > mine["change_seq"]
    assert by_seq[mine["seq"]]["reactions"] == []
    async with db.transaction() as tx:
        assert await tx.session.get(User, mei.id) is None
    assert (await client.get("/api/v1/me", headers=mei.headers)).status == 401
    log = await ok(await client.get(org.url("/audit"), params={"action": "member.erased"}, headers=org.owner.headers))
    assert mei.user.name not in str(log)


async def test_erasure_keeps_the_account_of_someone_in_another_organisation(client, db, org):
    mei = org.people[0]
    elsewhere = await make_org(db, org.owner.user)
    await join_org(db, elsewhere.id, mei.user)
    members = await member_ids(db, org)

    result = await ok(await client.post(member_url(org, members, mei) + "/erasure", json={"confirm": True}, headers=org.owner.headers))

    assert result["account_deleted"] is False
    async with db.transaction() as tx:
        assert await tx.session.get(User, mei.id) is not None
        live = await tx.session.scalars(select(DeviceSession.id).where(DeviceSession.user_id == mei.id, DeviceSession.revoked_at.is_(None)))
        assert list(live)
    mine = await ok(await client.get("/api/v1/orgs", headers=mei.headers))
    assert [o["id"] for o in mine] == [elsewhere.id]


async def test_erasure_needs_an_explicit_confirmation_and_spares_the_last_owner(client, db, org):
    members = await member_ids(db, org)
    resp = await client.post(member_url(org, members, org.people[0]) + "/erasure", json={}, headers=org.owner.headers)
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "confirm"

    resp = await client.post(member_url(org, members, org.owner) + "/erasure", json={"confirm": True}, headers=org.owner.headers)
    assert resp.status == 409
    async with db.transaction(org_id=org.id) as tx:
        assert await tx.session.scalar(select(Membership.id).where(Membership.user_id == org.owner.id)) is not None
