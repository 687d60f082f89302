"""The audit log: what admins see of who changed their organisation, that it cannot be rewritten, and its export."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from server.accounts.models import User
from server.audit.models import AuditEntry
from tests.factories import make_org, make_user, sign_in
from tests.server.orgs.conftest import join, new_org, ok, signed_in


async def audit(client, org, headers=None, **query) -> dict:
    return await ok(await client.get(org.url("/audit"), params=query, headers=headers or org.owner.headers))


async def test_membership_and_role_changes_are_recorded_newest_first_with_who_and_from_where(client, org):
    added = await ok(await client.post(org.url("/members"), json={"display_name": "Mei", "email": "mei@example.org"}, headers=org.owner.headers), 201)
    await ok(await client.patch(org.url(f"/members/{added['id']}"), json={"role": "admin"}, headers=org.owner.headers))
    await ok(await client.patch(org.url(f"/members/{added['id']}"), json={"title": "Nurse"}, headers=org.owner.headers))
    await ok(await client.delete(org.url(f"/members/{added['id']}"), headers=org.owner.headers), 204)

    items = (await audit(client, org, action="member."))["items"]

    assert [i["action"] for i in items] == ["member.removed", "member.updated", "member.role_changed", "member.added"]
    assert {(i["actor_user_id"], i["actor_name"], i["target_kind"], i["target_id"]) for i in items} == {
        (org.owner.id, "Olivia Owner", "member", added["id"])
    }
    assert items[2]["details"]["role"] == ["member", "admin"]
    assert items[0]["details"] == {"role": "admin"}
    assert all(i["remote"] == "127.0.0.1" for i in items)


async def test_only_admins_read_the_log_and_other_organisations_do_not_see_it(client, db, org):
    member = await join(db, org.id, "member")
    admin = await join(db, org.id, "admin")
    other = await new_org(db, "Other Owner")

    assert (await client.get(org.url("/audit"), headers=member.headers)).status == 403
    assert (await client.get(org.url("/audit"), headers=other.owner.headers)).status == 404
    assert (await client.get(org.url("/audit"), headers=admin.headers)).status == 200
    other_items = (await audit(client, other))["items"]
    assert [i["action"] for i in other_items] == ["org.created"]


async def test_pages_go_back_in_time_without_gaps_or_repeats(client, db, org):
    for n in range(7):
        await ok(await client.post(org.url("/departments"), json={"name": f"D{n}"}, headers=org.owner.headers), 201)
        await ok(await client.post(org.url("/members"), json={"display_name": f"P{n}"}, headers=org.owner.headers), 201)

    seen, before = [], None
    while True:
        page = await audit(client, org, action="member.added", limit=3, **({"before": before} if before else {}))
        seen += [i["id"] for i in page["items"]]
        before = page["next_before"]
        if before is None:
            break
    assert len(seen) == 7 and seen == sorted(seen, reverse=True)


async def test_an_entry_cannot_be_rewritten_and_outlives_its_actors_account(client, db, org):
    someone = await join(db, org.id, "admin", name="Temporary Admin")
    await ok(await client.post(org.url("/members"), json={"display_name": "Lu"}, headers=someone.headers), 201)
    async with db.transaction() as tx:
        entry_id = await tx.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "member.added"))

    for change in ({"action": "nothing.happened"}, {"details": {}}, {"actor_user_id": org.owner.id}):
        with pytest.raises((IntegrityError, DBAPIError)):
            async with db.transaction() as tx:
                await tx.session.execute(update(AuditEntry).where(AuditEntry.id == entry_id).values(**change))

    async with db.transaction() as tx:
        await tx.session.execute(delete(User).where(User.id == someone.id))
    async with db.transaction() as tx:
        entry = await tx.session.get(AuditEntry, entry_id)
    assert (entry.action, entry.actor_user_id, entry.actor_name) == ("member.added", None, "Temporary Admin")


async def test_the_export_has_every_entry_keeps_formulas_as_text_and_is_itself_recorded(client, org):
    await ok(await client.post(org.url("/members"), json={"display_name": "=HYPERLINK(\"http://x\")"}, headers=org.owner.headers), 201)

    resp = await client.get(org.url("/audit/export"), headers=org.owner.headers)
    assert resp.status == 200 and resp.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO((await resp.read()).decode("utf-8-sig"))))

    assert [r["action"] for r in rows] == ["org.created", "member.added", "audit.exported"]
    assert not any(cell.startswith("=") for r in rows for cell in r.values())
    assert (await audit(client, org))["items"][0]["action"] == "audit.exported"
    head = await client.head(org.url("/audit/export"), headers=org.owner.headers)
    assert head.status == 200 and await head.read() == b"" and head.content_type == "text/csv"
    assert [i["action"] for i in (await audit(client, org, action="audit."))["items"]] == ["audit.exported"]


async def test_a_sign_in_from_a_new_device_is_recorded_in_each_of_the_persons_organisations_once(client, db):
    user = await make_user(db, "Traveller")
    first, second = await make_org(db, user), await make_org(db, user)

    owner_headers = await sign_in(client, user.email, device_name="Laptop")
    await sign_in(client, user.email, device_name="Laptop")
    await sign_in(client, user.email, device_name="Phone")

    for org_id in (first.id, second.id):
        resp = await client.get(f"/api/v1/orgs/{org_id}/audit", params={"action": "account."}, headers=owner_headers)
        items = (await ok(resp))["items"]
        assert [i["details"]["device_name"] for i in items] == ["Phone", "Laptop"]
        assert {i["actor_user_id"] for i in items} == {user.id}


async def test_invitations_sent_accepted_declined_and_withdrawn_are_recorded(client, db, org):
    accepting, declining, withdrawn = await signed_in(db), await signed_in(db), await signed_in(db)
    invited = {}
    for who in (accepting, declining, withdrawn):
        resp = await client.post(org.url("/invitations"), json={"display_name": "Listed", "email": who.email}, headers=org.owner.headers)
        invited[who.id] = (await ok(resp, 201))["id"]
    await ok(await client.post(f"/api/v1/invitations/{invited[accepting.id]}/accept", headers=accepting.headers))
    await ok(await client.post(f"/api/v1/invitations/{invited[declining.id]}/decline", headers=declining.headers), 204)
    await ok(await client.delete(org.url(f"/invitations/{invited[withdrawn.id]}"), headers=org.owner.headers), 204)

    items = (await audit(client, org))["items"]

    assert [(i["action"], i["actor_user_id"]) for i in items[:6]] == [
        ("invitation.withdrawn", org.owner.id), ("invitation.declined", declining.id), ("member.joined", accepting.id),
        ("member.invited", org.owner.id), ("member.invited", org.owner.id), ("member.invited", org.owner.id),
    ]
