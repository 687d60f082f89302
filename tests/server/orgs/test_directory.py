"""The directory: search by name, email or phone however written, filter by department and its branch, keyset pages."""
from __future__ import annotations

import pytest

from tests.server.orgs.conftest import join, ok


@pytest.fixture
async def staff(client, db, org):
    """Surgery > Ward 3, and Pharmacy, with people in each; the owner has no department."""
    h = org.owner.headers
    surgery = await ok(await client.post(org.url("/departments"), json={"name": "Surgery"}, headers=h), 201)
    ward = await ok(await client.post(org.url("/departments"), json={"name": "Ward 3", "parent_id": surgery["id"]}, headers=h), 201)
    pharmacy = await ok(await client.post(org.url("/departments"), json={"name": "Pharmacy"}, headers=h), 201)
    people = [
        ("Omar Haddad", "omar@riverside.example", "+86 139 0000 0001", surgery),
        ("Liu Yang", "liu.yang@riverside.example", "13900000002", ward),
        ("Chen Jing", "chen@riverside.example", "139-0000-0003", ward),
        ("Noah Williams", "noah@riverside.example", "+44 20 7946 0958", pharmacy),
        ("100% Sure", "sure@riverside.example", None, None),
    ]
    for name, email, phone, department in people:
        body = {"display_name": name, "email": email, "phone": phone, "department_id": department["id"] if department else None}
        await ok(await client.post(org.url("/members"), json=body, headers=h), 201)
    return {"surgery": surgery, "ward": ward, "pharmacy": pharmacy}


async def names(client, org, headers=None, **params) -> list[str]:
    page = await ok(await client.get(org.url("/members"), params={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}, headers=headers or org.owner.headers))
    return [m["display_name"] for m in page["items"]]


async def test_the_whole_directory_is_sorted_by_name(client, org, staff):
    assert await names(client, org) == ["100% Sure", "Chen Jing", "Liu Yang", "Noah Williams", "Olivia Owner", "Omar Haddad"]


async def test_name_search_is_a_case_insensitive_substring(client, org, staff):
    assert await names(client, org, q="YANG") == ["Liu Yang"]
    assert await names(client, org, q="ha") == ["Omar Haddad"]


async def test_like_wildcards_in_the_query_are_literal(client, org, staff):
    assert await names(client, org, q="%") == ["100% Sure"]
    assert await names(client, org, q="_") == []


async def test_email_search(client, org, staff):
    assert await names(client, org, q="liu.yang@") == ["Liu Yang"]


@pytest.mark.parametrize(
    "typed, found",
    [
        ("13900000002", ["Liu Yang"]),
        ("+86 139-0000-0002", ["Liu Yang"]),
        ("(139) 0000 0003", ["Chen Jing"]),
        ("0000 000", ["Chen Jing", "Liu Yang", "Omar Haddad"]),
        ("+44 20 7946 0958", ["Noah Williams"]),
        ("7946", ["Noah Williams"]),
    ],
)
async def test_phone_search_matches_digits_whatever_the_formatting(client, org, staff, typed, found):
    assert await names(client, org, q=typed) == found


async def test_department_filter_includes_its_branch_unless_told_not_to(client, org, staff):
    surgery = staff["surgery"]["id"]
    assert await names(client, org, department_id=surgery) == ["Chen Jing", "Liu Yang", "Omar Haddad"]
    assert await names(client, org, department_id=surgery, include_subdepartments=False) == ["Omar Haddad"]
    assert await names(client, org, department_id=surgery, q="chen") == ["Chen Jing"]


async def test_items_carry_their_department(client, org, staff):
    page = await ok(await client.get(org.url("/members"), params={"q": "Liu"}, headers=org.owner.headers))
    item = page["items"][0]
    assert item["department"] == {"id": staff["ward"]["id"], "name": "Ward 3"}
    assert set(item) == {"id", "user_id", "display_name", "phone", "email", "title", "role", "department"}


async def test_pages_follow_the_cursor_to_the_end_without_gaps_or_repeats(client, db, org, staff):
    for n in range(3):
        await join(db, org.id, name="Chen Jing")  # equal names: the id breaks the tie
    seen, cursor = [], None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = await ok(await client.get(org.url("/members"), params=params, headers=org.owner.headers))
        assert len(page["items"]) <= 2
        seen += [(m["display_name"], m["id"]) for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 9
    assert seen == sorted(seen)
    assert len(set(seen)) == len(seen)


async def test_a_forged_cursor_is_a_400(client, org, staff):
    resp = await client.get(org.url("/members"), params={"cursor": "bm9wZQ"}, headers=org.owner.headers)
    assert resp.status == 400
    assert (await resp.json())["error"]["field"] == "cursor"


async def test_an_unknown_department_filter_is_a_400(client, org, staff):
    resp = await client.get(org.url("/members"), params={"department_id": "999999"}, headers=org.owner.headers)
    assert resp.status == 400


async def test_every_member_reads_the_directory(client, db, org, staff):
    member = await join(db, org.id, name="Plain Member")
    assert "Omar Haddad" in await names(client, org, headers=member.headers)
