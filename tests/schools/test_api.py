"""The hierarchy's API: roll-ups, staff within their scope, children and guardians, guardians as outsiders."""
from __future__ import annotations

from tests.schools.conftest import Bureau
from tests.server.orgs.conftest import join, new_org, ok


async def test_roll_ups_count_what_is_under_each_unit(client, bureau: Bureau):
    top = await ok(await client.get(bureau.url("/units"), headers=bureau.owner))
    assert [u["kind"] for u in top["units"]] == ["bureau"]
    assert top["units"][0]["counts"] == {"classes": 4, "students": 5, "staff": 6}
    districts = await ok(await client.get(bureau.url("/units"), params={"parent_id": top["units"][0]["id"]}, headers=bureau.owner))
    assert {u["external_id"]: u["counts"] for u in districts["units"]} == {
        "D01": {"classes": 3, "students": 4, "staff": 4},  # Wu Jie, Li Hua, Chen Jing, Sun Lei
        "D02": {"classes": 1, "students": 1, "staff": 1},
    }
    school = await ok(await client.get(bureau.url(f"/units/{bureau.units['S0101']}"), headers=bureau.owner))
    assert school["guardians"] == 6 and [u["kind"] for u in school["trail"]] == ["bureau", "district", "school"]


async def test_paging_by_id(client, bureau: Bureau):
    first = await ok(await client.get(bureau.url(f"/units/{bureau.units['BUREAU']}/students"), params={"limit": 2}, headers=bureau.owner))
    assert len(first["students"]) == 2 and first["next_after_id"] == first["students"][-1]["id"]
    rest = await ok(await client.get(bureau.url(f"/units/{bureau.units['BUREAU']}/students"),
                                     params={"limit": 10, "after_id": first["next_after_id"]}, headers=bureau.owner))
    assert len(rest["students"]) == 3 and rest["next_after_id"] is None


async def test_a_head_teacher_sees_their_classes_and_nothing_else(client, bureau: Bureau):
    chen = await bureau.staff("T0004")  # head teacher of G1C1, subject teacher of G1C2
    tops = await ok(await client.get(bureau.url("/units"), headers=chen))
    assert {u["external_id"] for u in tops["units"]} == {"S0101-G1C1", "S0101-G1C2"}
    own = await ok(await client.get(bureau.url(f"/units/{bureau.units['S0101-G1C1']}/students"), headers=chen))
    assert {s["external_id"] for s in own["students"]} == {"P0001", "P0003"}
    for unit in ("S0101", "S0101-G6C1", "S0201-G1C1", "D01"):
        assert (await client.get(bureau.url(f"/units/{bureau.units[unit]}"), headers=chen)).status == 404
    assert (await client.get(bureau.url(f"/students/{bureau.students['P0002']}"), headers=chen)).status == 404
    # a subject teacher reads, a head teacher changes the roster
    body = {"name": "Zhang Lin Jr"}
    assert (await client.patch(bureau.url(f"/students/{bureau.students['P0004']}"), json=body, headers=chen)).status == 403
    assert (await client.patch(bureau.url(f"/students/{bureau.students['P0003']}"), json=body, headers=chen)).status == 200
    me = await ok(await client.get(bureau.url("/me"), headers=chen))
    assert {(r["role"], r["unit"]["id"]) for r in me["roles"]} == {
        ("head_teacher", bureau.units["S0101-G1C1"]), ("subject_teacher", bureau.units["S0101-G1C2"]),
    } and me["everything"] is False and me["children"] == []


async def test_a_school_admin_manages_their_school_only(client, bureau: Bureau):
    li = await bureau.staff("T0003")
    body = {"kind": "class", "name": "Class 3", "parent_id": bureau.units["S0101-G1"], "external_id": "S0101-G1C3"}
    made = await ok(await client.post(bureau.url("/units"), json=body, headers=li), 201)
    assert made["level"] == 1 and made["trail"][-1]["name"] == "Class 3"
    elsewhere = body | {"parent_id": bureau.units["S0201-G1"], "external_id": "S0201-G1C3"}
    assert (await client.post(bureau.url("/units"), json=elsewhere, headers=li)).status == 404
    wrong = body | {"kind": "district", "external_id": "D9"}
    resp = await client.post(bureau.url("/units"), json=wrong, headers=li)
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "parent_id"
    taken = body | {"name": "Class 4"}
    assert (await client.post(bureau.url("/units"), json=taken, headers=li)).status == 409  # the external id
    assert (await client.patch(bureau.url(f"/units/{bureau.units['S0101']}"), json={"name": "North One"}, headers=li)).status == 200
    assert (await client.patch(bureau.url(f"/units/{bureau.units['D01']}"), json={"name": "Mine now"}, headers=li)).status == 404


async def test_children_guardians_and_transfers(client, bureau: Bureau):
    admin = await bureau.staff("T0002")  # district staff of D01
    body = {
        "external_id": "P0100", "name": "Wang Xiaoqiang", "class_id": bureau.units["S0101-G1C2"],
        "guardians": [{"name": "Wang Fang", "phone": "139 0000 0001", "relation": "mother"}, {"name": "Grandpa Wang", "relation": "grandfather"}],
    }
    child = await ok(await client.post(bureau.url("/students"), json=body, headers=admin), 201)
    mother = next(g for g in child["guardians"] if g["relation"] == "mother")
    assert mother["phone"] == "+8613900000001" and mother["has_account"]
    guardian = await ok(await client.get(bureau.url(f"/guardians/{mother['id']}"), headers=admin))
    # district staff of D01 reach two of Wang Fang's three children (not the one in South District)
    assert {c["name"] for c in guardian["children"]} == {"Wang Xiaoming", "Wang Xiaoqiang"}
    bad = body | {"external_id": "P0101", "guardians": [{"name": "X", "phone": "12"}]}
    resp = await client.post(bureau.url("/students"), json=bad, headers=admin)
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "guardians.0.phone"
    # a transfer to another school of the district keeps the guardians
    moved = await ok(await client.patch(bureau.url(f"/students/{child['id']}"), json={"class_id": bureau.units["S0101-G6C1"]}, headers=admin))
    assert moved["class_id"] == bureau.units["S0101-G6C1"] and len(moved["guardians"]) == 2
    # ...but not to a class outside the district
    resp = await client.patch(bureau.url(f"/students/{child['id']}"), json={"class_id": bureau.units["S0201-G1C1"]}, headers=admin)
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "class_id"
    grandpa = next(g for g in moved["guardians"] if g["relation"] == "grandfather")
    await ok(await client.delete(bureau.url(f"/students/{child['id']}/guardians/{grandpa['id']}"), headers=admin), 204)
    fixed = await ok(await client.patch(bureau.url(f"/guardians/{mother['id']}"), json={"name": "Wang Fang (mother)"}, headers=admin))
    assert fixed["name"] == "Wang Fang (mother)"
    resp = await client.patch(bureau.url(f"/guardians/{mother['id']}"), json={"phone": "13900000003"}, headers=admin)
    assert resp.status == 409  # Liu Qiang's number


async def test_a_guardian_is_an_outsider_who_sees_only_their_children(client, bureau: Bureau):
    wang = await bureau.guardian("+8613900000001")
    me = await ok(await client.get(bureau.url("/me"), headers=wang))
    assert [(c["name"], c["trail"][2]["name"]) for c in me["children"]] == [
        ("Wang Xiaoming", "North No. 1 Primary School"), ("Wang Xiaohong", "South No. 3 Primary School"),
    ]
    assert me["roles"] == [] and me["everything"] is False
    # not a member: the directory, the organisation's departments and the schools' staff routes do not exist for them
    for url in (bureau.org.url("/members"), bureau.org.url("/departments"), bureau.url("/units"),
                bureau.url(f"/students/{bureau.students['P0001']}")):
        assert (await client.get(url, headers=wang)).status == 404, url
    assert await ok(await client.get(bureau.org.url("/groups"), headers=wang)) == []
    # both children archived: no longer admitted at all
    for child in ("P0001", "P0002"):
        await ok(await client.patch(bureau.url(f"/students/{bureau.students[child]}"), json={"archived": True}, headers=bureau.owner))
    assert (await client.get(bureau.url("/me"), headers=wang)).status == 404


async def test_roles_are_given_and_taken_by_the_units_managers(client, bureau: Bureau):
    li = await bureau.staff("T0003")
    staff = await ok(await client.get(bureau.url(f"/units/{bureau.units['S0101']}/staff"), headers=li))
    zhao = next(r for r in (await ok(await client.get(bureau.url(f"/units/{bureau.units['BUREAU']}/staff"), headers=bureau.owner)))["roles"]
                if r["name"] == "Zhao Yun")
    assert "Zhao Yun" not in {r["name"] for r in staff["roles"]}
    body = {"user_id": zhao["user_id"], "role": "subject_teacher", "subject": "Music"}
    given = await ok(await client.post(bureau.url(f"/units/{bureau.units['S0101-G6C1']}/roles"), json=body, headers=li), 201)
    assert given["subject"] == "Music" and given["unit_id"] == bureau.units["S0101-G6C1"]
    resp = await client.post(bureau.url(f"/units/{bureau.units['S0101-G6C1']}/roles"), json=body | {"role": "school_admin"}, headers=li)
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "role"
    chen = await bureau.staff("T0004")
    assert (await client.post(bureau.url(f"/units/{bureau.units['S0101-G1C1']}/roles"), json=body, headers=chen)).status == 403
    await ok(await client.delete(bureau.url(f"/units/{bureau.units['S0101-G6C1']}/roles/{given['id']}"), headers=li), 204)


async def test_a_members_personal_data_has_their_roles_and_their_guardian_record(client, bureau: Bureau):
    """Chen Jing, a teacher, is also a guardian (her phone is a parent's): one account, exported and erased with her roles."""
    from sqlalchemy import select

    from server.orgs.models import Membership

    async with bureau.db.transaction(org_id=bureau.org.id) as tx:
        chen = await tx.session.scalar(select(Membership).where(Membership.external_id == "T0004"))
    body = {"external_id": "P0400", "name": "Chen Junior", "class_id": bureau.units["S0201-G1C1"],
            "guardians": [{"name": "Chen Jing", "phone": chen.phone, "relation": "mother"}]}
    child = await ok(await client.post(bureau.url("/students"), json=body, headers=bureau.owner), 201)
    assert child["guardians"][0]["has_account"]
    me = await ok(await client.get(bureau.url("/me"), headers=await bureau.staff("T0004")))
    assert [c["name"] for c in me["children"]] == ["Chen Junior"] and len(me["roles"]) == 2  # the same account
    exported = await ok(await client.get(bureau.org.url(f"/members/{chen.id}/personal-data"), headers=bureau.owner))
    part = exported["parts"]["schools"]
    assert {r["role"] for r in part["roles"]} == {"head_teacher", "subject_teacher"}
    assert part["guardian_of"][0]["children"] == [{"name": "Chen Junior", "relation": "mother"}]


async def test_the_schools_place_is_for_the_bureaus_staff_and_admins_only(client, db, bureau: Bureau):
    def keys(places):
        return [p["key"] for p in places]

    nav = f"/api/v1/navigation?org_id={bureau.org.id}"
    assert "schools" in keys(await ok(await client.get(nav, headers=await bureau.staff("T0001"))))
    assert "schools" in keys(await ok(await client.get(nav, headers=bureau.owner)))  # an admin with no role of their own
    plain = await join(db, bureau.org.id, "member", "Plain Member")
    assert "schools" not in keys(await ok(await client.get(nav, headers=plain.headers)))
    assert "schools" not in keys(await ok(await client.get(nav, headers=await bureau.guardian("+8613900000003"))))
    company = await new_org(db, "Cora Company")
    assert "schools" not in keys(await ok(await client.get(f"/api/v1/navigation?org_id={company.id}", headers=company.owner.headers)))
