"""The directory page at ``/directory``: departments, members, search, filter, paging, sign-out.

Seeded with the demo organisation (server/demo.py: 13 departments, 40 people)
so the page is exercised on a realistic tree; its sign-ins are the demo logins.
"""
from __future__ import annotations

import re

from playwright.async_api import expect
from sqlalchemy import select

from server.accounts.models import User
from server.demo import DEMO_LOGINS, DEMO_PEOPLE, do_seed_demo
from server.orgs.schemas import MembersQuery
from tests.factories import PASSWORD, make_org, make_user

DIRECTORY_PAGE_SIZE = MembersQuery.model_fields["limit"].default  # the page asks for the default page size
NURSE = next(login for login in DEMO_LOGINS if login.email.startswith("nurse"))
WARD_3 = {name for name, _title, department in DEMO_PEOPLE if department == "Hospital/Surgery/Ward 3"}
SURGERY_ONLY = {name for name, _title, department in DEMO_PEOPLE if department == "Hospital/Surgery"}
SURGERY_TREE = {name for name, _title, department in DEMO_PEOPLE if department.startswith("Hospital/Surgery")}


async def sign_in(page, email: str, password: str) -> None:
    await page.goto("/")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("#login-submit")
    await page.wait_for_url("**/home")
    await page.goto("/directory")
    await expect(page.locator(".member").first).to_be_visible()


async def listed_names(page) -> list[str]:
    """Names of the listed members, without their role badge."""
    return await page.eval_on_selector_all(".member-name", "nodes => nodes.map(n => n.firstChild.textContent)")


async def expect_listed(page, names: set[str]) -> None:
    await expect(page.locator(".member")).to_have_count(len(names))
    assert set(await listed_names(page)) == names


async def test_directory_shows_the_department_tree_and_members(page, db, screenshots):
    demo = await do_seed_demo(db)
    await sign_in(page, NURSE.email, NURSE.password)
    await expect(page.locator("#org-name")).to_have_text(demo.name)
    tree = page.locator("#department-tree")
    for department in ("Everyone", "Hospital", "Emergency", "Ward 3", "School", "Class 1A"):
        await expect(tree.get_by_role("button", name=department, exact=False).first).to_be_visible()
    # Ward 3 is drawn inside Surgery, inside Hospital.
    nested = tree.locator("li:has(> button:has-text('Hospital')) li:has(> button:has-text('Surgery')) button:has-text('Ward 3')")
    await expect(nested).to_have_count(1)
    first_row = page.locator(".member").first
    await expect(first_row.locator(".phone")).to_have_attribute("href", re.compile(r"^tel:\+86139\d{8}$"))
    path = screenshots / "directory.png"
    await page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000


async def test_search_lists_only_matching_members(page, db):
    await do_seed_demo(db)
    await sign_in(page, NURSE.email, NURSE.password)
    await page.fill("#search", "chen")
    await expect_listed(page, {"Chen Jing"})
    await page.fill("#search", "nobody-is-called-this")
    await expect(page.locator(".member")).to_have_count(0)
    await expect(page.locator("#no-members")).to_be_visible()


async def test_department_filter_with_and_without_sub_departments(page, db):
    await do_seed_demo(db)
    await sign_in(page, NURSE.email, NURSE.password)
    tree = page.locator("#department-tree")

    await tree.locator("button", has_text="Ward 3").click()
    await expect_listed(page, WARD_3)

    await tree.locator("button", has_text="Surgery").click()
    await expect_listed(page, SURGERY_TREE)
    await page.uncheck("#include-sub")
    await expect_listed(page, SURGERY_ONLY)

    await tree.locator("button", has_text="Everyone").click()
    await page.fill("#search", "zhang")
    await expect_listed(page, {"Zhang Wei"})


async def test_load_more_reaches_every_member_once(page, db):
    demo = await do_seed_demo(db)
    owner = DEMO_LOGINS[0]
    login = await page.request.post("/api/v1/auth/login", data={"email": owner.email, "password": owner.password})
    headers = {"Authorization": f"Bearer {(await login.json())['token']}"}
    for n in range(DIRECTORY_PAGE_SIZE + 5 - demo.member_count):  # more people than one page holds
        added = await page.request.post(f"/api/v1/orgs/{demo.org_id}/members", data={"display_name": f"Volunteer {n:02d}"}, headers=headers)
        assert added.status == 201, await added.text()
    await sign_in(page, NURSE.email, NURSE.password)
    load_more = page.locator("#load-more")
    await expect(page.locator(".member")).to_have_count(DIRECTORY_PAGE_SIZE)
    await load_more.click()
    await expect(page.locator(".member")).to_have_count(DIRECTORY_PAGE_SIZE + 5)
    await expect(load_more).to_be_hidden()
    names = await listed_names(page)
    assert len(set(names)) == len(names)


async def test_someone_in_two_organisations_picks_one(page, db):
    await do_seed_demo(db)
    async with db.transaction() as tx:
        nurse = (await tx.session.execute(select(User).where(User.email == NURSE.email))).scalar_one()
    await make_org(db, nurse, "Night Shift Volunteers")
    await sign_in(page, NURSE.email, NURSE.password)
    picker = page.locator("#org-select")
    await expect(picker).to_be_visible()
    await picker.select_option(label="Night Shift Volunteers")
    await expect_listed(page, {NURSE.name})
    await expect(page.locator("#department-tree button")).to_have_count(1)  # only "Everyone"


async def test_names_are_shown_as_text_never_as_markup(page, db):
    attacker = await make_user(db, '<img src=x onerror="window.pwned=1">Mallory')
    await make_org(db, attacker, "<b>Org</b>")
    await sign_in(page, attacker.email, PASSWORD)
    await expect(page.locator(".member-name").first).to_contain_text('<img src=x onerror="window.pwned=1">Mallory')
    await expect(page.locator("#org-name")).to_have_text("<b>Org</b>")
    assert await page.locator(".member img, #org-name b").count() == 0
    assert await page.evaluate("window.pwned") is None


async def test_sign_out_ends_the_session_and_returns_to_the_form(page, db, live_server):
    await do_seed_demo(db)
    await sign_in(page, NURSE.email, NURSE.password)
    token = await page.evaluate("localStorage.getItem('muster.token')")
    await page.click("#me-name")
    await page.click("#sign-out")
    await page.wait_for_url(lambda url: url.endswith("/"))
    await expect(page.locator("#login-form")).to_be_visible()
    assert await page.evaluate("localStorage.getItem('muster.token')") is None
    # The token is revoked on the server, not only forgotten by the browser.
    resp = await page.request.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 401
    await page.goto("/directory")
    await page.wait_for_url("**/?next=%2Fdirectory")
