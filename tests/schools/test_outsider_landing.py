"""Where a guardian lands: the platform asks each kind of outsider which organisations admit a person
(server/orgs/access.py), and the shell and ``/home`` show a guardian in no membership their bureau with the places
open to outsiders (their children, their groups, their notices), never the members' (the directory)."""
from __future__ import annotations

from tests.schools.conftest import Bureau
from tests.server.orgs.conftest import new_org, ok


async def test_a_guardian_lands_on_their_bureau_with_the_places_open_to_outsiders(client, bureau: Bureau):
    wang = await bureau.guardian("+8613900000001")
    assert await ok(await client.get("/api/v1/orgs", headers=wang)) == []  # no membership
    [org] = await ok(await client.get("/api/v1/me/outsider-orgs", headers=wang))
    assert org["id"] == bureau.org.id and org["name"] == "Org of Olivia Owner"
    places = await ok(await client.get(f"/api/v1/navigation?org_id={bureau.org.id}", headers=wang))
    assert [(p["key"], p["href"]) for p in places] == [
        ("home", f"/home?org={bureau.org.id}"), ("family", f"/schools/family?org={bureau.org.id}"),
        ("groups", f"/groups?org={bureau.org.id}"), ("notices", f"/notify/inbox?org={bureau.org.id}"),
    ]
    sections = await ok(await client.get(bureau.org.url("/home"), headers=wang))
    assert [s["key"] for s in sections] == ["forms", "notices"]
    # both children archived: admitted nowhere, so they land nowhere and the bureau's places are 404
    for child in ("P0001", "P0002"):
        await ok(await client.patch(bureau.url(f"/students/{bureau.students[child]}"), json={"archived": True}, headers=bureau.owner))
    assert await ok(await client.get("/api/v1/me/outsider-orgs", headers=wang)) == []
    assert (await client.get(f"/api/v1/navigation?org_id={bureau.org.id}", headers=wang)).status == 404


async def test_a_member_is_offered_their_children_beside_the_members_places(client, bureau: Bureau):
    chen = await bureau.staff("T0004")  # a teacher, and now the guardian of a child too
    phone = "+8613800000104"
    body = {"external_id": "P0200", "name": "Chen Xiao", "class_id": bureau.units["S0101-G1C2"],
            "guardians": [{"name": "Chen Jing", "phone": phone, "relation": "mother"}]}
    await ok(await client.post(bureau.url("/students"), json=body, headers=bureau.owner), 201)
    assert await ok(await client.get("/api/v1/me/outsider-orgs", headers=chen)) == []  # a member lands as a member
    keys = [p["key"] for p in await ok(await client.get(f"/api/v1/navigation?org_id={bureau.org.id}", headers=chen))]
    assert "family" in keys and "directory" in keys
    family = next(p for p in await ok(await client.get(f"/api/v1/navigation?org_id={bureau.org.id}", headers=chen)) if p["key"] == "family")
    assert family["href"] == "/schools/family"
    owner_keys = [p["key"] for p in await ok(await client.get(f"/api/v1/navigation?org_id={bureau.org.id}", headers=bureau.owner))]
    assert "family" not in owner_keys  # nobody's guardian


async def test_someone_nobody_admits_lands_nowhere(client, db, bureau: Bureau):
    other = (await new_org(db, "Oscar Other")).owner.headers
    assert await ok(await client.get("/api/v1/me/outsider-orgs", headers=other)) == []
    assert (await client.get(f"/api/v1/navigation?org_id={bureau.org.id}", headers=other)).status == 404
