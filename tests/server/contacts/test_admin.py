"""Admins see all the organisation's external contacts, a page at a time; what a member's personal data holds of them."""
from __future__ import annotations

from tests.server.contacts.conftest import add_contact, make_link, member_id
from tests.server.orgs.conftest import ok


async def test_admins_page_through_every_external_contact_with_the_staff_member_in_charge(client, db, org):
    made = [await add_contact(client, db, org, staff, name) for staff, name in
            ((org.nurse, "A"), (org.colleague, "B"), (org.nurse, "C"))]
    assert (await client.get(org.url("/external-contacts"), headers=org.nurse.headers)).status == 403
    first = await ok(await client.get(org.url("/external-contacts?limit=2"), headers=org.admin.headers))
    rest = await ok(await client.get(org.url(f"/external-contacts?limit=2&after_id={first['next_after_id']}"), headers=org.admin.headers))
    assert rest["next_after_id"] is None
    listed = [(c["name"], c["owner_name"]) for c in first["contacts"] + rest["contacts"]]
    assert listed == [("A", "Nurse Li"), ("B", "Nurse Wang"), ("C", "Nurse Li")]
    only = await ok(await client.get(org.url(f"/external-contacts?owner_id={org.colleague.id}"), headers=org.admin.headers))
    assert [c["id"] for c in only["contacts"]] == [made[1][1]["contact_id"]]


async def test_a_members_personal_data_lists_their_links_and_contacts_and_erasure_deletes_the_links(client, db, org):
    await add_contact(client, db, org, org.nurse)
    await make_link(client, org, org.nurse)
    nurse = await member_id(db, org.id, org.nurse.id)
    export = await ok(await client.get(org.url(f"/members/{nurse}/personal-data"), headers=org.admin.headers))
    part = export["parts"]["contacts"]
    assert len(part["contact_links"]) == 2 and len(part["contacts_in_charge"]) == 1
    erased = await ok(await client.post(org.url(f"/members/{nurse}/erasure"), json={"confirm": True}, headers=org.admin.headers))
    assert erased["erased"]["contacts"] == {"contact_links": 2}
    everyone = await ok(await client.get(org.url("/external-contacts"), headers=org.admin.headers))
    assert [c["owner_id"] for c in everyone["contacts"]] == [org.owner.id]
