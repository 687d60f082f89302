"""The navigation shell and the home page in Chromium: places, the language switch, a phone's tab bar."""
from __future__ import annotations

import aiohttp
from playwright.async_api import expect

from server.demo import DEMO_LOGINS, do_seed_demo
from tests.web.conftest import assert_fits_the_screen, assert_no_english, new_page

NURSE = next(login for login in DEMO_LOGINS if login.email.startswith("nurse"))
OWNER = next(login for login in DEMO_LOGINS if login.role == "owner")  # sends the demo's notice: home names them


async def sign_in(page, login) -> None:
    await page.goto("/")
    await page.fill("#email", login.email)
    await page.fill("#password", login.password)
    await page.click("#login-submit")
    await page.wait_for_url("**/home")
    await expect(page.locator("#home[data-loaded='true']")).to_have_count(1)


async def test_signing_in_lands_on_home_and_every_place_is_one_click_away(page, db):
    await do_seed_demo(db)
    await sign_in(page, NURSE)
    places = page.locator(".app-nav-link")
    hrefs = await places.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs[0] == "/home" and {"/groups", "/directory"} <= set(hrefs)
    assert "/admin" not in hrefs  # the nurse is no admin
    await expect(page.locator(".app-nav-link[aria-current='page']")).to_have_attribute("href", "/home")
    for href in hrefs:
        await page.click(f".app-nav-link[href='{href}']")
        await page.wait_for_url(f"**{href}*")
        await expect(page.locator(f".app-nav-link[href='{href}'][aria-current='page']")).to_have_count(1)


async def test_the_language_switch_turns_every_text_chinese_and_is_kept_for_the_person(page, db, base_url):
    demo = await do_seed_demo(db)
    await sign_in(page, NURSE)
    await page.click("#me-name")
    await page.select_option(".person-menu .language-select", "zh-CN")
    await expect(page.locator("html[lang='zh-CN']")).to_have_count(1)
    await expect(page.locator("#home[data-loaded='true']")).to_have_count(1)
    await expect(page.locator(".app-nav-link[href='/home']")).to_have_text("首页")
    await assert_no_english(page, allowed=(NURSE.name, demo.name, OWNER.name), data=".home-item-title")
    await page.click(".app-nav-link[href='/directory']")
    await expect(page.locator(".member").first).to_be_visible()
    await assert_no_english(page, allowed=(NURSE.name, demo.name), data=".member-name, .member-details span, .member-contact a, .avatar, .tree-name")
    token = await page.evaluate("localStorage.getItem('muster.token')")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base_url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}) as resp:
            assert (await resp.json())["locale"] == "zh-CN"


async def test_a_chinese_browser_gets_chinese_before_signing_in(browser, base_url):
    page, problems = await new_page(browser, base_url, language="zh-CN")
    await page.goto("/")
    await expect(page.locator("#login-submit")).to_have_text("登录")
    await assert_no_english(page)
    await page.click("#login-submit")
    await expect(page.locator("#login-error")).to_have_text("请输入邮箱和密码。")
    await page.context.close()
    assert problems == []


async def test_on_a_phone_the_places_are_a_tab_bar_at_the_bottom(browser, base_url, db):
    await do_seed_demo(db)
    page, problems = await new_page(browser, base_url, phone=True)
    await page.goto("/")
    await assert_fits_the_screen(page)
    await sign_in(page, NURSE)
    nav = page.locator(".app-nav")
    box = await nav.bounding_box()
    assert box["y"] + box["height"] >= 667 - 1 and box["width"] >= 374
    await assert_fits_the_screen(page)
    await page.tap(".app-nav-link[href='/directory']")
    await expect(page.locator(".member").first).to_be_visible()
    await assert_fits_the_screen(page)
    await page.context.close()
    assert problems == []


async def test_home_shows_unread_messages_as_they_arrive(browser, base_url, db):
    demo = await do_seed_demo(db)
    page, problems = await new_page(browser, base_url, language="zh-CN")
    await sign_in(page, NURSE)
    emergency = page.locator("[data-section='groups'] .home-item", has_text="Emergency department")
    before = int(await emergency.locator(".badge").inner_text())
    admin = next(login for login in DEMO_LOGINS if login.role == "owner")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base_url}/api/v1/auth/login", json={"email": admin.email, "password": admin.password}) as resp:
            headers = {"Authorization": f"Bearer {(await resp.json())['token']}"}
        async with http.get(f"{base_url}/api/v1/orgs/{demo.org_id}/groups", headers=headers) as resp:
            group = next(g for g in await resp.json() if g["name"] == "Emergency department")
        async with http.post(f"{base_url}/api/v1/orgs/{demo.org_id}/groups/{group['id']}/messages", json={"body": "Bed 7 is free"}, headers=headers) as resp:
            assert resp.status == 201
    await expect(emergency.locator(".badge")).to_have_text(str(before + 1))
    await expect(emergency.locator(".home-item-detail")).to_have_text(f"{before + 1} 条未读")
    await assert_no_english(page, allowed=(NURSE.name, demo.name, OWNER.name), data=".home-item-title")
    await page.context.close()
    assert problems == []
