"""Searching a group's members by name, pinyin or initials (the @mention suggestions of big groups), as the member list is authorised."""
from __future__ import annotations

import time

from server.orgs.models import Membership
from tests.server.groups.conftest import add_bulk_members, create_group


async def names(client, org, group_id, who, q, **extra) -> list[str]:
    resp = await client.get(org.url(f"/groups/{group_id}/members"), params={"q": q, **extra}, headers=who.headers)
    assert resp.status == 200, await resp.text()
    return [m["name"] for m in (await resp.json())["members"]]


async def test_members_are_found_by_name_pinyin_and_initials_in_a_group_of_10000(client, db, org):
    group = await create_group(client, org)
    ids = await add_bulk_members(db, org.id, group["id"], 10_000, prefix="bulk")
    async with db.transaction(org_id=org.id) as tx:  # two people of the organisation far beyond the first 1,000 members
        for user_id, name in ((ids[-2], "张伟"), (ids[-1], "Zhou Wen")):
            tx.session.add(Membership(org_id=org.id, user_id=user_id, role="member", display_name=name))
    reader = org.people[0]

    started = time.perf_counter()
    assert await names(client, org, group["id"], reader, "zhangw") == ["张伟"]
    elapsed = time.perf_counter() - started
    assert await names(client, org, group["id"], reader, "张") == ["张伟"]
    assert sorted(await names(client, org, group["id"], reader, "zw")) == ["Zhou Wen", "张伟"]  # both initials read zw
    assert await names(client, org, group["id"], reader, "ZHOU") == ["Zhou Wen"]
    assert await names(client, org, group["id"], reader, "bulk 5000") == ["bulk 5000"]  # someone with no organisation name: their own
    assert await names(client, org, group["id"], reader, "%") == []  # a wildcard is a character like any other
    assert len(await names(client, org, group["id"], reader, "bulk 1", limit=8)) == 8
    assert elapsed < 2.0, f"a search of 10,000 members took {elapsed:.2f} s"


async def test_the_search_sees_only_the_group_and_only_its_members_may_search(client, db, org):
    ann, bob, cat = org.people
    group = await create_group(client, org, member_ids=[ann.id])
    assert await names(client, org, group["id"], ann, "Member") == ["Member 0"]  # Bob and Cat are in the organisation, not the group
    refused = await client.get(org.url(f"/groups/{group['id']}/members"), params={"q": "Member"}, headers=bob.headers)
    assert refused.status == 403
    too_long = await client.get(org.url(f"/groups/{group['id']}/members"), params={"q": "x" * 201}, headers=ann.headers)
    assert too_long.status == 400 and (await too_long.json())["error"]["field"] == "q"
