"""Notification settings in Chromium: a person's quiet hours, mentions from muted groups and muted groups on /account;
the organisation's SMS digest at /admin/notifications, a tab of its settings for admins; desktop, a 375x667 phone, Chinese."""
from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import expect

from tests.server.orgs.conftest import join, new_org
from tests.web.conftest import assert_fits_the_screen, assert_no_english, open_signed_in

WRITTEN = ".group-name, #me-name, #org-name, .device-name, .user-agent"


async def call(base_url: str, who, method: str, path: str, body: dict | None = None):
    async with aiohttp.ClientSession() as http:
        async with http.request(method, f"{base_url}/api/v1{path}", json=body, headers=who.headers) as resp:
            assert resp.status < 300, await resp.text()
            return await resp.json() if resp.status != 204 else None


async def ward(base_url, db):
    org = await new_org(db, "Olivia Owner")
    nurse = await join(db, org.id, "member", "Nina Nurse")
    group = await call(base_url, org.owner, "POST", f"/orgs/{org.id}/groups", {"name": "Ward 3", "member_ids": [nurse.id]})
    return org, nurse, group


async def test_a_person_sets_quiet_hours_mentions_and_muted_groups_on_the_account_page(browser, base_url, db):
    org, nurse, group = await ward(base_url, db)
    page, problems = await open_signed_in(browser, base_url, nurse, "/account")
    await expect(page.locator("#notifications[data-ready='true']")).to_have_count(1)
    await expect(page.locator("#quiet-times")).to_be_hidden()
    await expect(page.locator("#quiet-help")).to_contain_text("China Standard Time")  # the organisation's time zone
    await expect(page.locator("#mentions-when-muted")).to_be_checked()
    await expect(page.locator("#push-state")).to_have_text("No browser of yours receives push notifications yet: allow them when a page offers to.")

    await page.check("#quiet-on")
    await page.fill("#quiet-start", "22:30")
    await page.fill("#quiet-end", "06:45")
    await page.uncheck("#mentions-when-muted")
    await page.click("#notify-form button[type=submit]")
    await expect(page.locator("#notify-status")).to_have_text("Saved")
    stored = await call(base_url, nurse, "GET", "/me/notification-settings")
    assert (stored["quiet_hours_start"], stored["quiet_hours_end"], stored["mentions_when_muted"]) == ("22:30", "06:45", False)

    muted = page.locator(f"#group-mutes li[data-group-id='{group['id']}']")
    await expect(muted.locator(".group-name")).to_have_text("Ward 3")
    async with page.expect_response(lambda r: r.url.endswith(f"/groups/{group['id']}/mute") and r.status == 204):
        await muted.locator("input.mute").check()
    assert await _muted(base_url, nurse, org.id) == [True]

    await page.reload()
    await expect(page.locator("#notifications[data-ready='true']")).to_have_count(1)
    await expect(page.locator("#quiet-start")).to_have_value("22:30")
    await expect(muted.locator("input.mute")).to_be_checked()
    await page.uncheck("#quiet-on")
    await page.click("#notify-form button[type=submit]")
    await expect(page.locator("#notify-status")).to_have_text("Saved")
    assert (await call(base_url, nurse, "GET", "/me/notification-settings"))["quiet_hours_start"] is None
    await page.context.close()
    assert problems == []


async def _muted(base_url, who, org_id) -> list[bool]:
    return [g["muted"] for g in await call(base_url, who, "GET", f"/orgs/{org_id}/groups")]


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
async def test_the_notification_settings_read_in_chinese(browser, base_url, db, phone, screenshots):
    _, nurse, _ = await ward(base_url, db)
    page, problems = await open_signed_in(browser, base_url, nurse, "/account", phone=phone, language="zh-CN")
    await expect(page.locator("#notifications[data-ready='true']")).to_have_count(1)
    await page.locator("#quiet-on").check()
    await expect(page.locator("#quiet-help")).to_contain_text("中国标准时间")
    await page.locator("#notify-form button[type=submit]").click()
    await expect(page.locator("#notify-status")).to_have_text("已保存")
    await assert_no_english(page, data=WRITTEN)
    await assert_fits_the_screen(page)
    await page.screenshot(path=str(screenshots / f"account-notifications-zh-{'phone' if phone else 'desktop'}.png"), full_page=True)
    await page.context.close()
    assert problems == []


async def test_an_admin_turns_on_the_sms_digest_in_the_organisations_settings(browser, base_url, db):
    org = await new_org(db, "Olivia Owner")
    page, problems = await open_signed_in(browser, base_url, org.owner, "/admin/notifications", live=False)
    await expect(page.locator("#settings[data-ready='true']")).to_have_count(1)
    await expect(page.locator(".settings-tab[data-section='notifications']")).to_have_attribute("aria-current", "page")
    await expect(page.locator(".app-nav-link[data-place='settings']")).to_have_attribute("aria-current", "page")
    await expect(page.locator("#sms-digest")).not_to_be_checked()
    await page.check("#sms-digest")
    await page.click("#digest-form button[type=submit]")
    await expect(page.locator("#digest-status")).to_have_text("Saved")
    assert (await call(base_url, org.owner, "GET", f"/orgs/{org.id}/notification-settings"))["sms_digest"] is True

    await page.click(".settings-tab[data-section='members']")  # the same row of tabs on /admin
    await page.wait_for_url("**/admin#members")
    await expect(page.locator(".settings-tab[data-section='notifications']")).to_have_attribute("href", "/admin/notifications")
    await page.context.close()
    assert problems == []


async def test_on_a_phone_in_chinese_the_sms_digest_tab_fits_and_a_member_is_told_it_is_for_admins(browser, base_url, db, screenshots):
    org = await new_org(db, "欧丽维")
    page, problems = await open_signed_in(browser, base_url, org.owner, "/admin/notifications", phone=True, language="zh-CN", live=False)
    await expect(page.locator("#settings[data-ready='true']")).to_have_count(1)
    await expect(page.locator(".settings-tab[data-section='notifications']")).to_have_text("通知")
    await page.locator("#sms-digest").check()
    await page.locator("#digest-form button[type=submit]").tap()
    await expect(page.locator("#digest-status")).to_have_text("已保存")
    await assert_no_english(page, data="#me-name, #org-name")
    await assert_fits_the_screen(page)
    await page.screenshot(path=str(screenshots / "admin-notifications-phone-zh.png"), full_page=True)
    await page.context.close()

    member = await join(db, org.id, "member", "米娅")
    page, more = await open_signed_in(browser, base_url, member, "/admin/notifications", live=False)
    await expect(page.locator("#not-admin")).to_be_visible()
    await expect(page.locator("#settings")).to_be_hidden()
    await page.context.close()
    assert problems == [] and more == []
