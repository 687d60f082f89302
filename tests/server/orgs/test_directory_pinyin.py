"""Chinese names in the directory: sorted by pinyin, found by pinyin and by its initials, however they were added."""
from __future__ import annotations

import pytest

from server.orgs.name_keys import name_keys
from tests.server.orgs.conftest import join, new_org, ok
from tests.server.orgs.test_import import upload


@pytest.fixture
async def team(client, org):
    """张伟, 李娜, 王芳 and a Zhang Wei written in Latin letters, added in that order beside the owner, Olivia Owner."""
    ids = {}
    for name in ("张伟", "李娜", "王芳", "Zhang Wei"):
        ids[name] = (await ok(await client.post(org.url("/members"), json={"display_name": name}, headers=org.owner.headers), 201))["id"]
    return ids


async def names(client, org, **params) -> list[str]:
    page = await ok(await client.get(org.url("/members"), params=params, headers=org.owner.headers))
    return [m["display_name"] for m in page["items"]]


async def test_names_sort_by_pinyin_whatever_their_script(client, org, team):
    assert await names(client, org) == ["李娜", "Olivia Owner", "王芳", "张伟", "Zhang Wei"]


@pytest.mark.parametrize(
    "typed, found",
    [
        ("zw", ["张伟", "Zhang Wei"]),
        ("ZW", ["张伟", "Zhang Wei"]),
        ("zhangwei", ["张伟", "Zhang Wei"]),
        ("zhang wei", ["张伟", "Zhang Wei"]),
        ("zhang", ["张伟", "Zhang Wei"]),
        ("张", ["张伟"]),
        ("伟", ["张伟"]),
        ("ln", ["李娜"]),
        ("fang", ["王芳"]),
        ("wf", ["王芳"]),
    ],
)
async def test_a_name_is_found_by_its_pinyin_its_initials_or_its_characters(client, org, team, typed, found):
    assert await names(client, org, q=typed) == found


async def test_a_surname_is_read_as_a_surname(client, db, org):
    await join(db, org.id, name="曾志伟")  # 曾 is "zeng" as a surname, "ceng" in 曾经
    await join(db, org.id, name="单田芳")  # 单 is "shan" as a surname

    assert await names(client, org, q="zeng") == ["曾志伟"]
    assert await names(client, org, q="zzw") == ["曾志伟"]
    assert await names(client, org, q="stf") == ["单田芳"]
    assert await names(client, org, q="ceng") == []
    assert await names(client, org) == ["Olivia Owner", "单田芳", "曾志伟"]


async def test_a_renamed_member_sorts_and_is_found_by_the_new_name(client, org, team):
    resp = await client.patch(org.url(f"/members/{team['Zhang Wei']}"), json={"display_name": "阿明"}, headers=org.owner.headers)
    assert resp.status == 200, await resp.text()

    assert await names(client, org, q="zw") == ["张伟"]
    assert await names(client, org, q="aming") == ["阿明"]
    assert (await names(client, org))[0] == "阿明"  # "a ming" comes first


async def test_imported_members_are_found_by_pinyin_and_a_new_name_on_reimport_too(client, db, org):
    await ok(await upload(client, org, "external_id,name\nE1,张伟\nE2,李娜\n".encode()))
    assert await names(client, org, q="zw") == ["张伟"]

    await ok(await upload(client, org, "external_id,name\nE1,王芳\nE2,李娜\n".encode()))

    assert await names(client, org, q="zw") == []
    assert await names(client, org, q="wangfang") == ["王芳"]
    assert await names(client, org) == ["李娜", "Olivia Owner", "王芳"]


async def test_pages_follow_the_pinyin_order_across_equal_readings_without_gaps_or_repeats(client, db):
    org = await new_org(db, "欧阳娜娜")
    for name in ("张伟", "章伟", "Zhang Wei", "张伟", "李娜", "王芳", "李娜", "张薇", "Li Na", "吕布"):
        await join(db, org.id, name=name)
    everyone = await ok(await client.get(org.url("/members"), params={"limit": "100"}, headers=org.owner.headers))
    expected = [(name_keys(m["display_name"]).sort, m["id"]) for m in everyone["items"]]

    seen, cursor = [], None
    while True:
        params = {"limit": "3"} | ({"cursor": cursor} if cursor else {})
        page = await ok(await client.get(org.url("/members"), params=params, headers=org.owner.headers))
        seen += [(name_keys(m["display_name"]).sort, m["id"]) for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == expected == sorted(expected)
    assert len(seen) == len(set(seen)) == 11
    assert [key for key, _ in seen[:3]] == ["li na"] * 3 and seen[3][0] == "lv bu" and seen[-1][0] == "zhang wei"
