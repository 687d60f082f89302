"""Family invitation links: a head teacher issues one per child of their class; whoever opens one types their name and
relation, gets an account and becomes that child's guardian, in the class group, and lands on their children's page."""
from __future__ import annotations

from sqlalchemy import select

from schools.models import Guardian
from tests.schools.conftest import Bureau
from tests.server.orgs.conftest import ok


async def issue(client, bureau: Bureau, headers, class_key: str = "S0101-G1C1", status: int = 201, **body):
    return await ok(await client.post(bureau.url(f"/units/{bureau.units[class_key]}/family-links"), json=body, headers=headers), status)


def token_of(link: dict) -> str:
    return link["url"].split("#", 1)[1]


async def join(client, link: dict, name: str, relation: str, status: int = 200) -> dict:
    resp = await client.post("/api/v1/auth/link/sign-in", json={"token": token_of(link), "name": name, "answers": {"relation": relation}})
    return await ok(resp, status)


async def test_a_head_teacher_makes_a_link_per_child_and_a_parent_joins_with_one(client, bureau: Bureau):
    group = await ok(await client.post(bureau.url(f"/units/{bureau.units['S0101-G1C1']}/group"), headers=bureau.owner), 201)
    chen = await bureau.staff("T0004")
    sheet = await issue(client, bureau, chen)
    assert (sheet["class_name"], sheet["school"]) == ("Grade 1 Class 1", "North No. 1 Primary School")
    assert [link["name"] for link in sheet["links"]] == ["Liu Yang", "Wang Xiaoming"]
    liu = sheet["links"][0]
    assert liu["student_id"] == bureau.students["P0003"] and "/link#" in liu["url"]
    assert liu["qr"].startswith("data:image/svg+xml;base64,")

    preview = await ok(await client.post("/api/v1/auth/link/preview", json={"token": token_of(liu)}))
    assert preview["purpose"] == "join Grade 1 Class 1, North No. 1 Primary School, as a guardian of Liu Yang"  # nothing else
    assert [q["key"] for q in preview["questions"]] == ["relation"] and preview["questions"][0]["required"]
    chinese = await ok(await client.post("/api/v1/auth/link/preview", json={"token": token_of(liu)}, headers={"Accept-Language": "zh-CN"}))
    assert "Liu Yang" in chinese["purpose"] and "家长" in chinese["purpose"] and chinese["questions"][0]["label"] == "你与孩子的关系"

    missing = await client.post("/api/v1/auth/link/sign-in", json={"token": token_of(liu), "name": "Zhou Hong"})
    assert missing.status == 400 and (await missing.json())["error"]["field"] == "answers.relation"
    signed_in = await join(client, liu, "Zhou Hong", "grandmother")
    assert signed_in["landing_url"] == f"/schools/family?org={bureau.org.id}" and signed_in["user"]["email"] is None
    grandma = {"Authorization": f"Bearer {signed_in['token']}"}
    me = await ok(await client.get(bureau.url("/me"), headers=grandma))
    assert [(c["name"], c["relation"], c["group_id"]) for c in me["children"]] == [("Liu Yang", "grandmother", group["group_id"])]
    assert me["children"][0]["trail"][-1]["name"] == "Class 1" and me["roles"] == []
    assert (await client.get(bureau.org.url(f"/groups/{group['group_id']}"), headers=grandma)).status == 200  # the group followed
    child = await ok(await client.get(bureau.url(f"/students/{bureau.students['P0003']}"), headers=chen))
    assert [(g["name"], g["phone"], g["relation"], g["has_account"]) for g in child["guardians"]] == [
        ("Liu Qiang", "+8613900000003", "father", True), ("Zhou Hong", None, "grandmother", True),
    ]
    again = await client.post("/api/v1/auth/link/sign-in", json={"token": token_of(liu), "name": "Someone", "answers": {"relation": "uncle"}})
    assert again.status == 410  # single use


async def test_a_new_link_for_a_child_withdraws_the_unused_one_and_a_used_one_stays_spent(client, bureau: Bureau):
    chen = await bureau.staff("T0004")
    first = await issue(client, bureau, chen)
    used = first["links"][1]  # Wang Xiaoming's
    await join(client, used, "Wang Jun", "uncle")
    second = await issue(client, bureau, chen, student_ids=[bureau.students["P0003"]])
    assert [link["name"] for link in second["links"]] == ["Liu Yang"]
    assert (await client.post("/api/v1/auth/link/preview", json={"token": token_of(first["links"][0])})).status == 410
    assert (await client.post("/api/v1/auth/link/preview", json={"token": token_of(second["links"][0])})).status == 200
    # the platform's withdraw route, by its issuer
    withdrawn = await client.delete(bureau.org.url(f"/sign-in-links/{second['links'][0]['link_id']}"), headers=chen)
    assert withdrawn.status == 204
    assert (await client.post("/api/v1/auth/link/preview", json={"token": token_of(second["links"][0])})).status == 410
    me = await ok(await client.get(bureau.url(f"/students/{bureau.students['P0001']}"), headers=chen))
    assert "Wang Jun" in [g["name"] for g in me["guardians"]]  # what a used link did stays


async def test_a_guardian_listed_without_a_phone_who_types_their_name_becomes_that_guardian(client, bureau: Bureau):
    sun = await bureau.staff("T0005")  # head teacher of Grade 6 Class 1: Huang Bo, whose father Huang Gang has no phone
    (link,) = (await issue(client, bureau, sun, "S0101-G6C1"))["links"]
    async with bureau.db.transaction(org_id=bureau.org.id) as tx:
        listed = await tx.session.scalar(select(Guardian).where(Guardian.name == "Huang Gang"))
    assert listed.user_id is None
    signed_in = await join(client, link, "Huang Gang", "father")
    async with bureau.db.transaction(org_id=bureau.org.id) as tx:
        assert (await tx.session.get(Guardian, listed.id)).user_id == signed_in["user"]["id"]
    child = await ok(await client.get(bureau.url(f"/students/{bureau.students['P0005']}"), headers=sun))
    assert [(g["name"], g["has_account"]) for g in child["guardians"]] == [("Huang Mei", True), ("Huang Gang", True)]


async def test_a_link_of_a_child_no_longer_on_the_roll_opens_nothing(client, bureau: Bureau):
    chen = await bureau.staff("T0004")
    liu = (await issue(client, bureau, chen, student_ids=[bureau.students["P0003"]]))["links"][0]
    await ok(await client.patch(bureau.url(f"/students/{bureau.students['P0003']}"), json={"archived": True}, headers=chen))
    preview = await client.post("/api/v1/auth/link/preview", json={"token": token_of(liu)})
    assert preview.status == 410 and "no longer" in (await preview.json())["error"]["message"]
    assert (await join(client, liu, "Zhou Hong", "grandmother", 410))["error"]["field"] == "token"


async def test_who_may_issue_them_and_for_which_children(client, bureau: Bureau):
    chen = await bureau.staff("T0004")  # head teacher of G1C1, subject teacher of G1C2
    refused = await client.post(bureau.url(f"/units/{bureau.units['S0101-G1C2']}/family-links"), json={}, headers=chen)
    assert refused.status == 403
    assert (await client.post(bureau.url(f"/units/{bureau.units['S0101-G6C1']}/family-links"), json={}, headers=chen)).status == 404
    li = await bureau.staff("T0003")  # the school's admin: any of its classes, not a grade
    await issue(client, bureau, li, "S0101-G6C1")
    assert (await client.post(bureau.url(f"/units/{bureau.units['S0101-G1']}/family-links"), json={}, headers=li)).status == 404
    other_class = await client.post(bureau.url(f"/units/{bureau.units['S0101-G1C1']}/family-links"),
                                    json={"student_ids": [bureau.students["P0003"], bureau.students["P0004"]]}, headers=chen)
    assert other_class.status == 400 and (await other_class.json())["error"]["field"] == "student_ids.1"
    too_long = await client.post(bureau.url(f"/units/{bureau.units['S0101-G1C1']}/family-links"), json={"expires_in_s": 400 * 86400}, headers=chen)
    assert too_long.status == 400 and (await too_long.json())["error"]["field"] == "expires_in_s"


async def test_the_sheet_says_where_guardians_with_a_phone_sign_in_while_the_organisation_offers_it(client, bureau: Bureau):
    organisation = await ok(await client.get(bureau.org.url(), headers=bureau.owner))
    assert organisation["phone_sign_in"] is True  # a bureau offers it from its making (its import here)
    chen = await bureau.staff("T0004")
    sheet = await issue(client, bureau, chen)
    assert sheet["phone_sign_in_url"].endswith(f"/?org={organisation['slug']}&next=%2Fschools%2Ffamily%3Forg%3D{bureau.org.id}")
    await ok(await client.patch(bureau.org.url(), json={"phone_sign_in": False}, headers=bureau.owner))  # its admins may turn it off
    assert (await issue(client, bureau, chen))["phone_sign_in_url"] is None
