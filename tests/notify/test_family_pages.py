"""Notices to families in Chromium, on phones in Chinese: a head teacher tells their class's families from the send page's
unit picker, a guardian (an outsider of the bureau, in no organisation's list) sees the notice arrive live in their
inbox, reads and confirms it, and the head teacher's "who has not read" list shrinks as it happens."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from playwright.async_api import expect

from tests.schools.conftest import new_bureau
from tests.web.conftest import assert_fits_the_screen, assert_no_english, backend, browser, open_signed_in, screenshots  # noqa: F401  (the page-test fixtures)

pytestmark = pytest.mark.browser

# What people wrote (names, titles, notices, units' names): not translated.
WRITTEN = "#me-name, #org-name, .notice-title, .notice-body, .notice-meta, #dash-title, #history, .people li, .unit-name, .home-item-title"


async def test_a_head_teacher_tells_their_class_families_who_read_and_confirm_on_their_phones(browser, client, db, server_port, screenshots):  # noqa: F811
    base_url = f"http://127.0.0.1:{server_port}"
    bureau = await new_bureau(db)
    chen = SimpleNamespace(headers=await bureau.staff("T0004"))  # Class 1's head teacher
    liu = SimpleNamespace(headers=await bureau.guardian("+8613900000003"))  # Liu Yang's father, in Class 1

    inbox, inbox_errors = await open_signed_in(browser, base_url, liu, f"/notify/inbox?org={bureau.org.id}", phone=True, language="zh-CN")
    await expect(inbox.locator("#no-notices")).to_be_visible()
    await expect(inbox.locator(".no-org")).to_have_count(0)  # an outsider of the bureau: no "you are in no organisation"
    sender, sender_errors = await open_signed_in(browser, base_url, chen, "/notify", phone=True, language="zh-CN")
    await expect(sender.locator(".app-nav-link[data-place='send-notice'][aria-current='page']")).to_have_count(1)
    await expect(sender.locator("#whole-org")).to_be_hidden()  # a head teacher sends within their class only
    units = sender.locator(".unit-tree .unit-name")
    await expect(units).to_have_text(["Class 1"])
    await assert_no_english(sender, data=WRITTEN)
    await assert_fits_the_screen(sender)

    await sender.fill("#title", "运动会通知")
    await sender.fill("#body", "周五上午举行运动会，请穿运动鞋。")
    await sender.tap(".unit-tree input[data-unit]")
    await sender.tap("#send")
    await expect(sender.locator("#compose-error")).to_have_text("已选择单位：请勾选要通知的对象（家长、教职工或两者）。")
    await sender.tap("input[data-picker-kind='families']")
    await expect(sender.locator("#reach-count")).to_have_text("将通知 3 人。")
    await sender.screenshot(path=str(screenshots / "notify-families-compose-phone-zh.png"), full_page=True)
    await sender.tap("#send")

    await expect(sender.locator("[data-count='sent']")).to_have_text("3")
    notice = inbox.locator(".notice")
    await expect(notice.locator(".notice-title")).to_have_text("运动会通知")  # live, over the guardian's socket
    await expect(notice.locator(".notice-meta")).to_contain_text("Chen Jing")
    await expect(notice).to_have_attribute("data-state", "read")
    unread = sender.locator("ul[data-state='unread'] li")
    await expect(unread).to_have_count(2)  # Liu Qiang read it; Wang Fang and Wang Wei have no device open
    await expect(sender.locator("#unread-heading")).to_have_text("尚未阅读（2 人）")
    await expect(unread).not_to_contain_text(["Liu Qiang"])
    await assert_no_english(inbox, data=WRITTEN)
    await assert_fits_the_screen(inbox)
    await inbox.screenshot(path=str(screenshots / "notify-families-inbox-phone-zh.png"), full_page=True)

    await inbox.tap(".notice button.confirm")
    await expect(notice.locator(".confirmed-at")).to_contain_text("你已于")
    await expect(sender.locator("[data-count='confirmed']")).to_have_text("1")
    await expect(sender.locator("ul[data-state='confirmed'] li")).to_contain_text(["Liu Qiang"])
    await assert_no_english(sender, data=WRITTEN)
    await assert_fits_the_screen(sender)
    await sender.screenshot(path=str(screenshots / "notify-families-dashboard-phone-zh.png"), full_page=True)
    assert sender_errors == [] and inbox_errors == []
