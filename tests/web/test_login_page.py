"""The sign-in page at ``/``: the form, the server's error messages, the second factor."""
from __future__ import annotations

import pyotp
from playwright.async_api import expect

from server.accounts.models import User
from tests.factories import PASSWORD, make_user


async def sign_in_with_form(page, email: str, password: str) -> None:
    await page.goto("/")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("#login-submit")


async def test_wrong_password_shows_the_servers_message_and_stays(page, db):
    user = await make_user(db)
    await sign_in_with_form(page, user.email, "not the password")
    await expect(page.locator("#login-error")).to_have_text("wrong email or password")
    assert page.url.endswith("/")
    assert await page.evaluate("localStorage.getItem('muster.token')") is None


async def test_right_password_stores_the_token_and_opens_home(page, db):
    user = await make_user(db, "Ada Lovelace")
    await sign_in_with_form(page, user.email, PASSWORD)
    await page.wait_for_url("**/home")
    await expect(page.locator("#me-name")).to_have_text("Ada Lovelace")
    assert (await page.evaluate("localStorage.getItem('muster.token')")).startswith("mst_")


async def test_code_field_appears_when_the_account_has_two_factor_sign_in(page, db):
    user = await make_user(db)
    secret = pyotp.random_base32()
    async with db.transaction() as tx:
        account = await tx.session.get(User, user.id)
        account.totp_secret, account.totp_enabled = secret, True
    code_field = page.locator("#totp-code")

    await sign_in_with_form(page, user.email, PASSWORD)
    await expect(code_field).to_be_visible()
    await expect(page.locator("#login-error")).to_contain_text("code")
    await code_field.fill(pyotp.TOTP(secret).now())
    await page.click("#login-submit")
    await page.wait_for_url("**/home")


async def test_a_signed_in_browser_skips_the_form(page, db):
    user = await make_user(db)
    await sign_in_with_form(page, user.email, PASSWORD)
    await page.wait_for_url("**/home")
    await page.goto("/")
    await page.wait_for_url("**/home")
