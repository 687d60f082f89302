"""notify's section of the organisation's settings (/notify/settings) in Chromium: an admin edits the escalation
policy within the server's bounds and names who may send; in Chinese on a phone; a member is told it is for admins."""
from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.factories import person
from tests.notify.conftest import add_member
from tests.web.conftest import assert_fits_the_screen, assert_no_english, backend, browser, open_signed_in  # noqa: F401  (the page-test fixtures)

pytestmark = pytest.mark.browser


async def open_settings(browser, server_port, who, **options):  # noqa: F811
    page, problems = await open_signed_in(browser, f"http://127.0.0.1:{server_port}", who, "/notify/settings", live=False, **options)
    await expect(page.locator("#settings[data-ready='true']")).to_have_count(1)
    return page, problems


async def test_an_admin_edits_the_escalation_policy_and_names_a_sender(browser, app, client, db, org, server_port):  # noqa: F811
    from notify.keys import NOTIFY_SETTINGS

    app[NOTIFY_SETTINGS].paid_min_delay_s = 60
    app[NOTIFY_SETTINGS].paid_max_repeats = 3
    page, problems = await open_settings(browser, server_port, org.admin)
    await expect(page.locator(".settings-tab[aria-current='page']")).to_have_text("Urgent broadcasts")
    await expect(page.locator(".settings-tab[data-section='members']")).to_have_attribute("href", "/admin#members")
    await expect(page.locator("#policy-limits")).to_contain_text("at the earliest 1 min after")

    await page.check("#sms-on")
    await page.fill("#sms-after", "0.5")  # sooner than the server allows: refused, in words
    await page.click("#policy-form button[type=submit]")
    await expect(page.locator("#policy-error")).to_contain_text("at the earliest 60 s")
    await page.fill("#sms-after", "2")
    await page.uncheck("#call-on")
    await page.fill("#repeats", "1")
    await page.fill("#interval", "5")
    await page.click("#policy-form button[type=submit]")
    await expect(page.locator("#policy-status")).to_have_text("Saved")
    stored = await (await client.get(f"/api/v1/orgs/{org.id}/broadcast-policy", headers=org.admin.headers)).json()
    assert stored == {"sms_after_s": 120, "call_after_s": None, "repeats": 1, "repeat_interval_s": 300}

    pat = org.people["pat"]
    await page.fill("#sender-search", "pat")
    await page.locator(f".sender-grant[data-user-id='{pat}'] button").click()
    await expect(page.locator(f".sender-revoke[data-user-id='{pat}']")).to_have_count(1)
    senders = await (await client.get(f"/api/v1/orgs/{org.id}/broadcast-senders", headers=org.admin.headers)).json()
    assert [s["user_id"] for s in senders] == [pat]
    await page.locator(f".sender-revoke[data-user-id='{pat}'] button").click()
    await expect(page.locator("#no-senders")).to_be_visible()
    await page.context.close()
    assert problems == []


async def test_on_a_phone_in_chinese_the_policy_page_fits_and_reads_chinese(browser, org, server_port):  # noqa: F811
    page, problems = await open_settings(browser, server_port, org.admin, phone=True, language="zh-CN")
    await expect(page.locator(".settings-tab[aria-current='page']")).to_have_text("紧急通知")
    await page.tap("#sms-on")
    await page.fill("#sms-after", "3")
    await page.tap("#policy-form button[type=submit]")
    await expect(page.locator("#policy-status")).to_have_text("已保存")
    await expect(page.locator(".allowance[data-channel='sms'] .used")).to_have_text("今天已用 0 / 5,000，剩余 5,000")
    await expect(page.locator(".allowance[data-channel='call'] .per-number")).to_have_text("每个电话号码每天最多接听 10 次电话")
    await expect(page.locator("#allowances-reset")).to_contain_text("重新计数")
    await assert_fits_the_screen(page)
    await assert_no_english(page, data="#org-name, #me-name, .member-name")
    await page.context.close()
    assert problems == []


async def test_a_member_is_told_the_settings_are_for_admins(browser, client, db, org, server_port):  # noqa: F811
    member = await person(client, db, "Mo Member")
    await add_member(db, org.id, member.id, "Mo Member")
    page, problems = await open_signed_in(browser, f"http://127.0.0.1:{server_port}", member, "/notify/settings", live=False)
    await expect(page.locator("#not-admin")).to_be_visible()
    await expect(page.locator("#settings")).to_be_hidden()
    await page.context.close()
    assert problems == []


async def test_an_admin_reads_how_much_of_the_days_sms_and_calls_was_used(browser, app, client, org, server_port):  # noqa: F811
    from server.channels.registry import CHANNELS
    from tests.notify.test_paid_limits import TWO_SMS
    from tests.notify.test_send import send

    app[CHANNELS].settings.sms_per_org_per_day = 40
    assert (await send(client, org, {"everyone": True}, policy=TWO_SMS)).status == 201  # 5 phones x 2 SMS
    page, problems = await open_settings(browser, server_port, org.admin)
    sms = page.locator(".allowance[data-channel='sms']")
    await expect(sms.locator(".card-title")).to_have_text("SMS")
    await expect(sms.locator(".used")).to_have_text("10 of 40 used today, 30 left")
    await expect(sms.locator("progress")).to_have_attribute("value", "10")
    await expect(page.locator(".allowance[data-channel='call'] .used")).to_have_text("0 of 1,000 used today, 1,000 left")
    await expect(page.locator("#allowances-reset")).to_contain_text("Counts start again at")
    await page.context.close()
    assert problems == []
