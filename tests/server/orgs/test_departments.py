"""The department tree: create, list with counts, rename, move a branch, refuse cycles, delete only empty leaves."""
from __future__ import annotations

from server.orgs.departments import department_subtree_ids
from tests.server.orgs.conftest import join, ok


async def make_department(client, org, name, parent_id=None) -> dict:
    return await ok(await client.post(org.url("/departments"), json={"name": name, "parent_id": parent_id}, headers=org.owner.headers), 201)


async def test_created_departments_list_with_paths_and_direct_member_counts(client, db, org):
    surgery = await make_department(client, org, "Surgery")
    ward = await make_department(client, org, "Ward 3", surgery["id"])
    member = await join(db, org.id)
    await ok(await client.patch(org.url(f"/members/{(await member_id_of(client, org, member))}"), json={"department_id": ward["id"]}, headers=org.owner.headers))

    listed = await ok(await client.get(org.url("/departments"), headers=member.headers))

    assert [(d["name"], d["parent_id"], d["path"], d["member_count"]) for d in listed] == [
        ("Surgery", None, f"/{surgery['id']}/", 0),
        ("Ward 3", surgery["id"], f"/{surgery['id']}/{ward['id']}/", 1),
    ]


async def member_id_of(client, org, someone) -> int:
    page = await ok(await client.get(org.url("/members"), params={"q": someone.email}, headers=org.owner.headers))
    return page["items"][0]["id"]


async def test_sibling_names_are_unique_also_at_the_top_level(client, org):
    await make_department(client, org, "Surgery")
    resp = await client.post(org.url("/departments"), json={"name": "Surgery"}, headers=org.owner.headers)
    assert resp.status == 409
    assert (await resp.json())["error"]["field"] == "name"


async def test_a_name_with_a_slash_is_refused_because_imports_use_slash_paths(client, org):
    resp = await client.post(org.url("/departments"), json={"name": "A/B"}, headers=org.owner.headers)
    assert resp.status == 400
    assert "'/'" in (await resp.json())["error"]["message"]


async def test_members_cannot_create_departments(client, db, org):
    member = await join(db, org.id)
    resp = await client.post(org.url("/departments"), json={"name": "X"}, headers=member.headers)
    assert resp.status == 403


async def test_moving_a_department_rewrites_the_paths_of_its_whole_branch(client, db, org):
    a = await make_department(client, org, "A")
    b = await make_department(client, org, "B", a["id"])
    c = await make_department(client, org, "C", b["id"])
    other = await make_department(client, org, "Other")

    moved = await ok(await client.patch(org.url(f"/departments/{b['id']}"), json={"parent_id": other["id"]}, headers=org.owner.headers))

    assert moved["path"] == f"/{other['id']}/{b['id']}/"
    paths = {d["id"]: d["path"] for d in await ok(await client.get(org.url("/departments"), headers=org.owner.headers))}
    assert paths[c["id"]] == f"/{other['id']}/{b['id']}/{c['id']}/"
    assert paths[a["id"]] == f"/{a['id']}/"
    async with db.transaction(org_id=org.id) as tx:
        assert sorted(await department_subtree_ids(tx, other["id"])) == sorted([other["id"], b["id"], c["id"]])
        assert await department_subtree_ids(tx, a["id"]) == [a["id"]]


async def test_moving_to_the_top_level_and_renaming_in_one_patch(client, org):
    a = await make_department(client, org, "A")
    b = await make_department(client, org, "B", a["id"])
    moved = await ok(await client.patch(org.url(f"/departments/{b['id']}"), json={"parent_id": None, "name": "Bee"}, headers=org.owner.headers))
    assert (moved["parent_id"], moved["path"], moved["name"]) == (None, f"/{b['id']}/", "Bee")


async def test_a_rename_alone_does_not_move(client, org):
    a = await make_department(client, org, "A")
    b = await make_department(client, org, "B", a["id"])
    renamed = await ok(await client.patch(org.url(f"/departments/{b['id']}"), json={"name": "Bee"}, headers=org.owner.headers))
    assert (renamed["parent_id"], renamed["name"]) == (a["id"], "Bee")


async def test_moving_under_itself_or_its_own_branch_is_refused(client, org):
    a = await make_department(client, org, "A")
    b = await make_department(client, org, "B", a["id"])
    for target in (a["id"], b["id"]):
        resp = await client.patch(org.url(f"/departments/{a['id']}"), json={"parent_id": target}, headers=org.owner.headers)
        assert resp.status == 400
        assert (await resp.json())["error"]["field"] == "parent_id"


async def test_delete_refuses_departments_with_children_or_members_then_deletes_empty_ones(client, db, org):
    a = await make_department(client, org, "A")
    b = await make_department(client, org, "B", a["id"])
    member = await join(db, org.id)
    mid = await member_id_of(client, org, member)
    await ok(await client.patch(org.url(f"/members/{mid}"), json={"department_id": b["id"]}, headers=org.owner.headers))

    assert (await client.delete(org.url(f"/departments/{a['id']}"), headers=org.owner.headers)).status == 409
    assert (await client.delete(org.url(f"/departments/{b['id']}"), headers=org.owner.headers)).status == 409
    await ok(await client.patch(org.url(f"/members/{mid}"), json={"department_id": None}, headers=org.owner.headers))
    await ok(await client.delete(org.url(f"/departments/{b['id']}"), headers=org.owner.headers), 204)
    await ok(await client.delete(org.url(f"/departments/{a['id']}"), headers=org.owner.headers), 204)
    assert await ok(await client.get(org.url("/departments"), headers=org.owner.headers)) == []


async def test_unknown_parent_is_a_400_naming_parent_id(client, org):
    resp = await client.post(org.url("/departments"), json={"name": "X", "parent_id": 999999}, headers=org.owner.headers)
    assert resp.status == 400
    assert (await resp.json())["error"]["field"] == "parent_id"
