"""Keyset pages: every row once, in key order, whatever the page size; keys of several columns; the "who has" shape."""
from __future__ import annotations

import pytest
from sqlalchemy import exists, insert, select
from sqlalchemy.orm import aliased

from server.accounts.models import User
from server.db import utcnow
from server.db.keyset import keyset_page, who_has
from server.orgs.models import Membership, Organisation

NAMES = ["Wang", "Li", "Zhang", "Li", "Chen", "Wang", "Li", "Zhao", "Wang", "Sun", "Li"]


@pytest.fixture
async def org(db):
    """An organisation whose members share names (so a name alone does not order them) and one of another organisation."""
    now = utcnow()
    async with db.transaction() as tx:
        orgs = list(await tx.session.scalars(insert(Organisation).returning(Organisation.id),
                                             [{"name": "A", "slug": "keyset-a"}, {"name": "B", "slug": "keyset-b"}]))
        users = list(await tx.session.scalars(insert(User).returning(User.id), [
            {"name": n, "email": f"k{i}@example.org", "kind": "person", "totp_enabled": False, "created_at": now} for i, n in enumerate(NAMES)
        ]))
        for i, (user_id, name) in enumerate(zip(users, NAMES)):
            tx.session.add(Membership(org_id=orgs[0] if i else orgs[1], user_id=user_id, display_name=name, role="member",
                                      phone="+447946000000" if i % 3 == 0 else None))
    return orgs[0], users[1:]


async def every_page(db, org_id, statement, key, limit, **kwargs):
    pages, after = [], None
    while True:
        async with db.transaction(org_id=org_id) as tx:
            page = await keyset_page(tx, statement, key, after=after, limit=limit, **kwargs)
        pages.append(page.rows)
        if page.next_after is None:
            return pages
        after = page.next_after


@pytest.mark.parametrize("limit", [1, 3, 10, 11])
async def test_pages_by_one_column_show_each_row_once_in_order(db, org, limit):
    org_id, users = org
    pages = await every_page(db, org_id, select(Membership.user_id), Membership.user_id, limit)
    assert [u for page in pages for u in page] == users  # the other organisation's member is not there
    assert all(len(page) == limit for page in pages[:-1]) and 1 <= len(pages[-1]) <= limit


async def test_a_key_of_several_columns_pages_through_equal_names(db, org):
    org_id, users = org
    key = (Membership.name_sort_key, Membership.id)
    pages = await every_page(db, org_id, select(Membership.display_name, Membership.user_id), key, 2)
    rows = [row for page in pages for row in page]
    assert sorted(rows) == sorted(zip(NAMES[1:], users)) and len(set(rows)) == len(rows)
    assert [name for name, _ in rows] == sorted(NAMES[1:], key=lambda n: n.lower())


async def test_descending_and_entities(db, org):
    org_id, users = org
    pages = await every_page(db, org_id, select(Membership), Membership.id, 4, descending=True)
    members = [m for page in pages for m in page]
    assert all(isinstance(m, Membership) for m in members)
    assert [m.user_id for m in members] == users[::-1]


async def test_who_has_counts_the_whole_population_and_pages_one_state(db, org):
    org_id, users = org
    has_phone = Membership.phone.is_not(None)
    population = select(Membership.user_id, Membership.display_name)
    with_phone = [u for i, u in enumerate(users, start=1) if i % 3 == 0]
    seen = {}
    for state in ("done", "not_done", "all"):
        rows, after = [], None
        while True:
            async with db.transaction(org_id=org_id) as tx:
                page = await who_has(tx, population, has_phone, Membership.user_id, state=state, after=after, limit=2)
            assert (page.done_count, page.not_done_count) == (len(with_phone), len(users) - len(with_phone))
            rows += page.rows
            if page.next_after is None:
                break
            after = page.next_after
        seen[state] = [user_id for user_id, _ in rows]
    assert seen == {"done": with_phone, "not_done": [u for u in users if u not in with_phone], "all": users}


async def test_who_has_with_a_correlated_condition_and_joins(db, org):
    """The shape of a message's readers: a population joined to names, "done" an exists() on another row."""
    org_id, users = org
    named = aliased(User)
    other = select(named.id).where(named.id == Membership.user_id, named.name == "Li")
    async with db.transaction(org_id=org_id) as tx:
        page = await who_has(tx, select(Membership.user_id, User.email).join(User, User.id == Membership.user_id), exists(other),
                             Membership.user_id, state="done", after=None, limit=100)
    lis = [u for u, n in zip(users, NAMES[1:]) if n == "Li"]
    assert (page.done_count, page.not_done_count) == (len(lis), len(users) - len(lis))
    assert [u for u, _ in page.rows] == lis and page.next_after is None
