"""The meetings page and the meeting page in Chromium: scheduling with an invitee from the directory, the meeting on the
invitee's list and home page, "start now" on a phone in Chinese, and a guest who joins by the guest link."""
from __future__ import annotations

from types import SimpleNamespace

import aiohttp
from playwright.async_api import expect
from sqlalchemy import select

from server.orgs.models import Membership
from tests.factories import PASSWORD, make_org, make_user
from tests.rooms.meetings.test_page import browser  # noqa: F401  (Chromium with a fake camera and microphone)
from tests.web.conftest import (  # noqa: F401  (fixtures)
    assert_fits_the_screen, assert_no_english, backend, base_url, live_server, new_page, open_signed_in, screenshots,
)

PEOPLE = "#me-name, #org-name, .upcoming-title, #meeting-title, #people .who, .tile-name, #time-zone, .home-item-title"


async def signed_in(base_url: str, user) -> SimpleNamespace:  # noqa: F811
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base_url}/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}) as resp:
            assert resp.status == 200, await resp.text()
            token = (await resp.json())["token"]
    return SimpleNamespace(id=user.id, name=user.name, headers={"Authorization": f"Bearer {token}"})


async def host_and_member(db, base_url):  # noqa: F811
    hana, nina = await make_user(db, "Hana Host"), await make_user(db, "Nina Nurse")
    org = await make_org(db, hana, "Ward Seven")
    async with db.transaction(org_id=org.id) as tx:
        tx.session.add(Membership(org_id=org.id, user_id=nina.id, role="member", display_name=nina.name))
    return await signed_in(base_url, hana), await signed_in(base_url, nina)


async def test_a_meeting_scheduled_with_an_invitee_shows_on_both_lists_and_the_invitees_home(browser, base_url, db, screenshots):  # noqa: F811
    hana, nina = await host_and_member(db, base_url)
    page, problems = await open_signed_in(browser, base_url, hana, "/meetings")
    await expect(page.locator("#no-meetings")).to_be_visible()
    await page.fill("#title", "Ward round")
    await page.select_option("#duration", "30")
    await page.fill("#invitee-search", "Nina")
    await page.click("#invitee-results button:text-is('+ Nina Nurse')")
    await expect(page.locator("#invitees .chip")).to_have_count(1)
    await page.click("#schedule")

    item = page.locator("#upcoming li", has_text="Ward round")
    await expect(item.locator(".upcoming-when")).to_contain_text("30 minutes")
    await expect(item.locator(".upcoming-role")).to_have_text("You host")
    await expect(page.locator("#guest-link")).to_be_visible()
    guest_url = await page.input_value("#guest-url")
    assert "/m/" in guest_url
    assert (await page.get_attribute("#guest-qr", "src")).startswith("data:image/svg+xml")
    await expect(page.locator(".app-nav-link[aria-current='page']")).to_have_attribute("href", "/meetings")
    await page.screenshot(path=str(screenshots / "meetings-desktop.png"), full_page=True)

    home, home_problems = await open_signed_in(browser, base_url, nina, "/home")
    await expect(home.locator("[data-section='meetings'] .home-item-title")).to_have_text(["Ward round"])
    await home.click("[data-section='meetings'] .home-item a")
    await home.wait_for_url("**/m/*")
    assert home.url.endswith(guest_url.split("/m/", 1)[1])

    phone, phone_problems = await open_signed_in(browser, base_url, nina, "/meetings", phone=True, language="zh-CN")
    mine = phone.locator("#upcoming li", has_text="Ward round")
    await expect(mine.locator(".upcoming-role")).to_have_text("我被邀请")
    await expect(mine.locator(".guest-link-button")).to_have_count(0)  # an invitee does not hand out the link
    await assert_no_english(phone, data=PEOPLE)
    await assert_fits_the_screen(phone)
    await phone.screenshot(path=str(screenshots / "meetings-phone-zh.png"), full_page=True)
    for p in (page, home, phone):
        await p.context.close()
    assert problems == home_problems == phone_problems == []


async def test_start_now_on_a_phone_in_chinese_and_a_guest_joins_by_the_link(browser, base_url, db, screenshots):  # noqa: F811
    hana, _ = await host_and_member(db, base_url)
    host, problems = await open_signed_in(browser, base_url, hana, "/meetings", phone=True, language="zh-CN")
    await assert_no_english(host, data=PEOPLE)
    await assert_fits_the_screen(host)
    await host.tap("#start-now")
    await host.wait_for_url("**/m/*")
    await expect(host.locator("#join-as")).to_contain_text("Hana Host")
    await host.tap("#join-submit")
    await expect(host.locator("body")).to_have_attribute("data-meeting", "joined")
    await expect(host.locator("#toggle-audio")).to_have_text("静音")
    controls = await host.locator("#controls").bounding_box()
    assert controls["y"] + controls["height"] <= 667 and controls["y"] >= 667 - 120, controls  # at the bottom, in reach of a thumb
    await expect(host.locator(".app-nav")).to_be_hidden()

    guest, guest_problems = await new_page(browser, base_url, phone=True, language="zh-CN")
    await guest.goto(host.url.removeprefix(base_url))
    await expect(guest.locator("#shell .language-select")).to_be_visible()
    await guest.fill("#display-name", "Gus Guest")
    await guest.tap("#join-submit")
    await expect(guest.locator("body")).to_have_attribute("data-meeting", "joined")
    await expect(guest.locator("#shell #me-name")).to_have_text("Gus Guest")  # the guest bar, without places
    await expect(guest.locator("#shell .app-nav")).to_have_count(0)
    await expect(host.locator("#people li", has_text="Gus Guest")).to_have_count(1)
    for page in (host, guest):
        await expect(page.locator("#media-state")).to_have_text("媒体：已连接", timeout=15_000)
        await assert_no_english(page, data=PEOPLE + ", #chat")
        await assert_fits_the_screen(page)
    await host.screenshot(path=str(screenshots / "meeting-phone-zh.png"))
    await guest.tap("#leave")
    await expect(guest.locator("#left-title")).to_have_text("你已离开会议")
    for page in (host, guest):
        await page.context.close()
    assert problems == guest_problems == []


async def schedule(base_url, host, org_id: int, title: str, invitee_ids: list[int]) -> dict:  # noqa: F811
    body = {"title": title, "scheduled_at": "2099-03-01T09:00:00+00:00", "duration_min": 30, "invitee_ids": invitee_ids}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base_url}/api/v1/orgs/{org_id}/meetings", json=body, headers=host.headers) as resp:
            assert resp.status == 201, await resp.text()
            return await resp.json()


async def host_member_and_another(db, base_url):  # noqa: F811
    hana, nina = await host_and_member(db, base_url)
    omar = await make_user(db, "Omar Orderly")
    async with db.transaction() as tx:
        org_id = await tx.session.scalar(select(Membership.org_id).where(Membership.user_id == nina.id))
    async with db.transaction(org_id=org_id) as tx:
        tx.session.add(Membership(org_id=org_id, user_id=omar.id, role="member", display_name=omar.name))
    return org_id, hana, nina, await signed_in(base_url, omar)


async def test_the_host_changes_who_is_invited_and_the_invitees_lists_follow_live(browser, base_url, db):  # noqa: F811
    org_id, hana, nina, omar = await host_member_and_another(db, base_url)
    await schedule(base_url, hana, org_id, "Ward round", [nina.id])
    invitee, invitee_problems = await open_signed_in(browser, base_url, nina, "/meetings")
    await expect(invitee.locator("#upcoming li", has_text="Ward round")).to_have_count(1)
    await expect(invitee.locator(".invitees-button")).to_have_count(0)  # an invitee does not manage the meeting
    other, other_problems = await open_signed_in(browser, base_url, omar, "/meetings")
    await expect(other.locator("#no-meetings")).to_be_visible()

    page, problems = await open_signed_in(browser, base_url, hana, "/meetings")
    await page.locator("#upcoming li", has_text="Ward round").locator(".invitees-button").click()
    panel = page.locator("#invitees-panel")
    await expect(panel).to_be_visible()
    await expect(panel.locator("#invitees-meeting")).to_have_text("Ward round")
    await expect(panel.locator("#current-invitees .chip")).to_have_count(1)
    await page.fill("#add-invitee-search", "Nurse")
    await expect(page.locator("#add-invitee-results")).to_be_empty()  # invited already: not offered again
    await page.fill("#add-invitee-search", "Omar")
    await page.click("#add-invitee-results button:text-is('+ Omar Orderly')")
    await expect(panel.locator(f".chip[data-user-id='{omar.id}']")).to_contain_text("Omar Orderly")
    await expect(other.locator("#upcoming li", has_text="Ward round")).to_have_count(1)  # told live

    await panel.locator(f".chip[data-user-id='{nina.id}'] button").click()
    await expect(panel.locator("#current-invitees .chip")).to_have_count(1)
    await expect(invitee.locator("#no-meetings")).to_be_visible()  # gone from Nina's list, live
    await page.click("#invitees-done")
    await expect(panel).to_be_hidden()
    for p in (page, invitee, other):
        await p.context.close()
    assert problems == invitee_problems == other_problems == []


async def test_on_a_phone_in_chinese_the_host_adds_an_invitee(browser, base_url, db, screenshots):  # noqa: F811
    org_id, hana, nina, omar = await host_member_and_another(db, base_url)
    await schedule(base_url, hana, org_id, "查房", [])
    page, problems = await open_signed_in(browser, base_url, hana, "/meetings", phone=True, language="zh-CN")
    button = page.locator("#upcoming li", has_text="查房").locator(".invitees-button")
    await expect(button).to_have_text("邀请的人")
    await button.tap()
    await expect(page.locator("#no-invitees")).to_have_text("还没有邀请任何人。")
    await page.fill("#add-invitee-search", "Nina")
    await page.tap("#add-invitee-results button")
    await expect(page.locator(f"#current-invitees .chip[data-user-id='{nina.id}']")).to_contain_text("Nina Nurse")
    await expect(page.locator("#no-invitees")).to_be_hidden()
    await assert_no_english(page, data=PEOPLE + ", #invitees-meeting, .chip, #add-invitee-search")
    await assert_fits_the_screen(page)
    await page.screenshot(path=str(screenshots / "meetings-invitees-phone-zh.png"), full_page=True)
    await page.context.close()
    assert problems == []
