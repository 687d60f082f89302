"""Class groups: one call makes a class's group of its teachers and guardians, and it follows the roster."""
from __future__ import annotations

from sqlalchemy import select

from server.groups.models import GroupMember
from tests.schools.conftest import Bureau
from tests.server.orgs.conftest import ok


async def members(bureau: Bureau, group_id: int) -> dict[int, str]:
    async with bureau.db.transaction(org_id=bureau.org.id) as tx:
        return dict((await tx.session.execute(select(GroupMember.user_id, GroupMember.role).where(GroupMember.group_id == group_id))).all())


async def user_of_phone(bureau: Bureau, phone: str) -> int:
    from schools.models import Guardian

    async with bureau.db.transaction(org_id=bureau.org.id) as tx:
        return await tx.session.scalar(select(Guardian.user_id).where(Guardian.phone == phone))


async def test_the_class_group_holds_teachers_and_guardians_and_follows_the_roster(client, bureau: Bureau):
    chen = await bureau.staff("T0004")
    class_id = bureau.units["S0101-G1C1"]
    made = await ok(await client.post(bureau.url(f"/units/{class_id}/group"), headers=chen), 201)
    assert made["created"] is True
    again = await ok(await client.post(bureau.url(f"/units/{class_id}/group"), headers=chen), 201)
    assert again == {"group_id": made["group_id"], "created": False}
    group_id = made["group_id"]
    wang_fang, wang_wei, liu = [await user_of_phone(bureau, p) for p in ("+8613900000001", "+8613900000002", "+8613900000003")]
    now = await members(bureau, group_id)
    assert {wang_fang, wang_wei, liu} <= now.keys() and len(now) == 4 and sorted(now.values()).count("owner") == 1  # Chen Jing owns it

    # a guardian reads the group through the groups' routes, as an outsider
    wang = await bureau.guardian("+8613900000001")
    assert [g["id"] for g in await ok(await client.get(bureau.org.url("/groups"), headers=wang))] == [group_id]
    await ok(await client.post(bureau.org.url(f"/groups/{group_id}/messages"), json={"body": "Thank you, teacher"}, headers=wang), 201)
    unit = await ok(await client.get(bureau.url(f"/units/{class_id}"), headers=chen))
    assert unit["group_id"] == group_id

    # Liu Yang moves to class C2: his father leaves the group
    await ok(await client.patch(bureau.url(f"/students/{bureau.students['P0003']}"), json={"class_id": bureau.units["S0101-G1C2"]}, headers=bureau.owner))
    assert liu not in await members(bureau, group_id)
    # a new child's guardian joins
    body = {"external_id": "P0200", "name": "New Child", "class_id": class_id, "guardians": [{"name": "New Parent", "phone": "13900000200"}]}
    await ok(await client.post(bureau.url("/students"), json=body, headers=chen), 201)
    new_parent = await user_of_phone(bureau, "+8613900000200")
    assert new_parent in await members(bureau, group_id)
    # a subject teacher given a role on the class joins; taking it away takes them out
    staff = (await ok(await client.get(bureau.url(f"/units/{bureau.units['S0101-G1C2']}/staff"), headers=bureau.owner)))["roles"]
    sun_user = next(r["user_id"] for r in staff if r["name"] == "Sun Lei")
    role = await ok(await client.post(bureau.url(f"/units/{class_id}/roles"), json={"user_id": sun_user, "role": "subject_teacher", "subject": "Art"},
                                      headers=bureau.owner), 201)
    assert sun_user in await members(bureau, group_id)
    await ok(await client.delete(bureau.url(f"/units/{class_id}/roles/{role['id']}"), headers=bureau.owner), 204)
    assert sun_user not in await members(bureau, group_id)
    # Wang Xiaoming leaves: both his parents leave the group (Wang Fang keeps her other child's access to the organisation)
    await ok(await client.patch(bureau.url(f"/students/{bureau.students['P0001']}"), json={"archived": True}, headers=chen))
    assert not {wang_fang, wang_wei} & (await members(bureau, group_id)).keys()
    assert (await client.get(bureau.org.url(f"/groups/{group_id}"), headers=wang)).status == 404
    assert (await client.get(bureau.url("/me"), headers=wang)).status == 200


async def test_an_import_moves_guardians_between_class_groups(client, bureau: Bureau, tmp_path):
    from tests.schools.conftest import import_files

    groups = {}
    for unit in ("S0101-G1C1", "S0101-G1C2"):
        groups[unit] = (await ok(await client.post(bureau.url(f"/units/{bureau.units[unit]}/group"), headers=bureau.owner), 201))["group_id"]
    students = tmp_path / "students.csv"
    students.write_text((
        "external_id,name,class,guardian1_name,guardian1_phone,guardian1_relation\n"
        "P0001,Wang Xiaoming,S0101-G1C2,Wang Fang,13900000001,mother\n"
        "P0003,Liu Yang,S0101-G1C1,Liu Qiang,13900000003,father\n"
        "P0004,Zhang Lin,S0101-G1C2,Zhang Li,13900000004,grandmother\n"
        "P0005,Huang Bo,S0101-G6C1,Huang Mei,13900000005,mother\n"
    ))
    report = await import_files(bureau.db, bureau.org.id, [("students.csv", students)])
    assert report.failed == 0 and report.counts["students_transferred"] == 1
    wang_fang = await user_of_phone(bureau, "+8613900000001")
    assert wang_fang in await members(bureau, groups["S0101-G1C2"])
    assert wang_fang not in await members(bureau, groups["S0101-G1C1"])


async def test_a_subject_teacher_cannot_make_the_group_and_a_school_is_no_class(client, bureau: Bureau):
    chen = await bureau.staff("T0004")
    assert (await client.post(bureau.url(f"/units/{bureau.units['S0101-G1C2']}/group"), headers=chen)).status == 403
    assert (await client.post(bureau.url(f"/units/{bureau.units['S0101']}/group"), headers=bureau.owner)).status == 404
