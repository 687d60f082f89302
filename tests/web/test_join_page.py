"""The guest invite page at ``/join#<token>``: a name, a guest session, then the page of what invited the guest."""
from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import expect

from tests.factories import make_org, person
from tests.web.conftest import assert_fits_the_screen, assert_no_english, new_page

pytestmark = pytest.mark.browser


async def group_invite(db, base_url: str, client_name: str = "Ward 3 families") -> tuple[str, int, int]:
    """An organisation with a group open to guests and a guest link to it: (invite token, org id, group id)."""
    async with aiohttp.ClientSession(base_url) as http:
        owner = await person(http, db, "Grace Owner")
        org = await make_org(db, owner.user)
        group = await http.post(f"/api/v1/orgs/{org.id}/groups", json={"name": client_name, "allow_guests": True}, headers=owner.headers)
        assert group.status == 201, await group.text()
        group_id = (await group.json())["id"]
        invite = await http.post(f"/api/v1/orgs/{org.id}/guest-invites", json={"scope_kind": "group", "scope_id": group_id}, headers=owner.headers)
        assert invite.status == 201, await invite.text()
        body = await invite.json()
    assert body["url"].endswith(f"/join#{body['token']}")
    return body["token"], org.id, group_id


async def join_with_name(page, token: str, name: str) -> None:
    await page.goto(f"/join#{token}")
    await page.fill("#display-name", name)
    await page.click("#join-submit")


async def test_a_group_invite_link_asks_the_name_then_opens_the_group_chat(page, db, base_url):
    token, org_id, group_id = await group_invite(db, base_url)

    await join_with_name(page, token, "Dr Visitor")

    await page.wait_for_url(f"**/groups?org={org_id}&group={group_id}")
    await expect(page.locator("#group-title")).to_have_text("Ward 3 families")
    await expect(page.locator("body[data-live='true']")).to_have_count(1)
    await page.fill("#message-body", "Hello from a guest")
    await page.click("#send")
    await expect(page.locator(".message-body").last).to_have_text("Hello from a guest")
    assert (await page.evaluate("localStorage.getItem('muster.token')")).startswith("mst_")


async def test_a_wrong_link_shows_the_servers_message_and_stays(page, db):
    await join_with_name(page, "not-a-real-invite-token", "Dr Visitor")

    await expect(page.locator("#join-error")).to_contain_text("this invite link is not valid")
    assert "/join" in page.url
    assert await page.evaluate("localStorage.getItem('muster.token')") is None


async def test_a_link_without_its_token_says_it_is_incomplete(page):
    await page.goto("/join")

    await expect(page.locator("#join-error")).to_contain_text("incomplete")
    await expect(page.locator("#join-submit")).to_be_disabled()


async def test_joining_as_a_guest_signs_this_browser_out_of_the_account_it_had(page, db, base_url):
    token, org_id, group_id = await group_invite(db, base_url)
    async with aiohttp.ClientSession(base_url) as http:
        member = await person(http, db, "Someone Signed In")
        await page.goto("/static/muster.css")  # this origin, with no script that could go elsewhere once a token is stored
        await page.evaluate(f"localStorage.setItem('muster.token', '{member.headers['Authorization'].removeprefix('Bearer ')}')")

        await page.goto(f"/join#{token}")
        await expect(page.locator("#signed-in-note")).to_be_visible()
        await page.fill("#display-name", "Dr Visitor")
        await page.click("#join-submit")
        await page.wait_for_url(f"**/groups?org={org_id}&group={group_id}")

        assert (await http.get("/api/v1/me", headers=member.headers)).status == 401


async def test_on_a_chinese_phone_the_join_page_is_chinese_fits_the_screen_and_joins(browser, db, base_url):
    token, org_id, group_id = await group_invite(db, base_url)
    phone, problems = await new_page(browser, base_url, phone=True, language="zh-CN")
    try:
        await phone.goto(f"/join#{token}")
        await expect(phone.locator("#join-submit")).to_have_text("加入")
        await assert_no_english(phone)
        await assert_fits_the_screen(phone)
        await phone.tap("#join-submit")
        await expect(phone.locator("#join-error")).to_have_text("请输入你的名字，让其他人知道你是谁。")
        await phone.fill("#display-name", "家长")
        await phone.tap("#join-submit")
        await phone.wait_for_url(f"**/groups?org={org_id}&group={group_id}")
    finally:
        await phone.context.close()
    assert problems == []
