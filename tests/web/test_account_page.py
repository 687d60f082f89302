"""Remembering a device at sign-in, and the account page at /account: language, signed-in devices,
remembered devices and new-device notices, in Chromium on a desktop and a 375x667 phone, in English and Chinese."""
from __future__ import annotations

import pyotp
import pytest
from playwright.async_api import expect

from server.accounts.models import User
from tests.factories import PASSWORD, make_user, person, sign_in
from tests.web.conftest import assert_fits_the_screen, assert_no_english, new_page, open_signed_in


async def with_totp(db, user) -> str:
    secret = pyotp.random_base32()
    async with db.transaction() as tx:
        account = await tx.session.get(User, user.id)
        account.totp_secret, account.totp_enabled = secret, True
    return secret


async def sign_in_with_form(page, email: str, code: str | None = None, *, remember: bool = False) -> None:
    await page.goto("/")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    if code is None:
        return
    await expect(page.locator("#totp-code")).to_be_visible()
    await page.fill("#totp-code", code)
    if remember:
        await page.check("#remember-device")
    await page.click("#login-submit")


async def sign_out_here(page) -> None:
    """Forget the session token but not the rest of this browser's storage (from a still document, so no page reacts)."""
    await page.goto("/static/muster.css")
    await page.evaluate("localStorage.removeItem('muster.token')")


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
async def test_a_remembered_browser_signs_in_without_the_code_next_time(browser, base_url, db, phone):
    user = await make_user(db)
    secret = await with_totp(db, user)
    page, problems = await new_page(browser, base_url, phone=phone)

    await sign_in_with_form(page, user.email, pyotp.TOTP(secret).now(), remember=True)
    await page.wait_for_url("**/home")
    await sign_out_here(page)
    await sign_in_with_form(page, user.email)

    await page.wait_for_url("**/home")
    assert await page.evaluate(f"localStorage.getItem('muster.trusted.{user.email}')") is not None
    assert problems == []
    await page.context.close()


async def test_a_forgotten_browser_is_asked_for_the_code_again(browser, base_url, client, db):
    user = await make_user(db)
    secret = await with_totp(db, user)
    page, problems = await new_page(browser, base_url)
    await sign_in_with_form(page, user.email, pyotp.TOTP(secret).now(), remember=True)
    await page.wait_for_url("**/home")
    headers = {"Authorization": "Bearer " + await page.evaluate("localStorage.getItem('muster.token')")}
    [remembered] = await (await client.get("/api/v1/me/trusted-devices", headers=headers)).json()
    assert (await client.delete(f"/api/v1/me/trusted-devices/{remembered['id']}", headers=headers)).status == 204
    await sign_out_here(page)

    await sign_in_with_form(page, user.email)

    await expect(page.locator("#totp-code")).to_be_visible()
    assert await page.evaluate(f"localStorage.getItem('muster.trusted.{user.email}')") is None
    assert problems == []
    await page.context.close()


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
async def test_the_account_page_signs_out_a_device_and_forgets_a_remembered_one(browser, base_url, client, db, phone):
    alice = await person(client, db)
    secret = await with_totp(db, alice.user)
    await sign_in(client, alice.email, device_name="Phone", totp_code=pyotp.TOTP(secret).now(), remember_device=True)
    page, problems = await open_signed_in(browser, base_url, alice, "/account", phone=phone)

    sessions, remembered = page.locator("#sessions li"), page.locator("#trusted li")
    await expect(sessions).to_have_count(2)
    await expect(page.locator("#sessions li .current")).to_have_count(1)
    await expect(remembered).to_have_count(1)
    await expect(remembered.locator(".device-name")).to_have_text("Phone")
    await assert_fits_the_screen(page)

    await sessions.filter(has_text="Phone").locator("button.revoke").click()
    await expect(sessions).to_have_count(1)
    await remembered.locator("button.revoke").click()
    await expect(remembered).to_have_count(0)
    await expect(page.locator("#trusted-empty")).to_be_visible()
    assert await (await client.get("/api/v1/me/trusted-devices", headers=alice.headers)).json() == []
    assert problems == []
    await page.context.close()


async def test_a_sign_in_on_a_new_device_shows_up_at_once_and_is_marked_seen(browser, base_url, client, db):
    alice = await person(client, db)
    page, problems = await open_signed_in(browser, base_url, alice, "/account")
    await expect(page.locator("main.account[data-loaded='true']")).to_have_count(1)
    await expect(page.locator("#notices-section")).to_be_hidden()

    await sign_in(client, alice.email, device_name="Stranger's tablet")

    notice = page.locator("#notices li")
    await expect(notice).to_have_count(1)
    await expect(notice.locator(".device-name")).to_have_text("Stranger's tablet")
    await expect(page.locator("#sessions li")).to_have_count(2)
    await page.click("#notices-seen")
    await expect(page.locator("#notices-section")).to_be_hidden()
    assert await (await client.get("/api/v1/me/notices", headers=alice.headers)).json() == []
    assert problems == []
    await page.context.close()


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
async def test_the_account_page_reads_in_chinese(browser, base_url, client, db, phone, screenshots):
    alice = await person(client, db)
    secret = await with_totp(db, alice.user)
    await sign_in(client, alice.email, device_name="Phone", totp_code=pyotp.TOTP(secret).now(), remember_device=True)
    page, problems = await open_signed_in(browser, base_url, alice, "/account", phone=phone, language="zh-CN")
    await expect(page.locator("#notices li")).to_have_count(1)
    await expect(page.locator("#trusted li")).to_have_count(1)

    await assert_no_english(page, data=".device-name, .user-agent, #me-name")
    await assert_fits_the_screen(page)
    await page.screenshot(path=screenshots / f"account-zh-{'phone' if phone else 'desktop'}.png", full_page=True)
    assert problems == []
    await page.context.close()


async def test_choosing_a_language_on_the_account_page_keeps_it_for_the_person(browser, base_url, client, db):
    alice = await person(client, db)
    page, problems = await open_signed_in(browser, base_url, alice, "/account")

    await page.locator("#language select").select_option("zh-CN")

    await expect(page.locator("html[lang='zh-CN']")).to_have_count(1)
    await expect(page.locator("main.account[data-loaded='true']")).to_have_count(1)
    assert (await (await client.get("/api/v1/me", headers=alice.headers)).json())["locale"] == "zh-CN"
    assert problems == []
    await page.context.close()
