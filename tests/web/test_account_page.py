"""Remembering a device at sign-in, and the account page at /account: language, signed-in devices,
remembered devices, new-device notices, downloading one's data and deleting one's account (an external contact; a member
is sent to their admins), in Chromium on a desktop and a 375x667 phone, in English and Chinese."""
from __future__ import annotations

import json
from types import SimpleNamespace

import aiohttp
import pyotp
import pytest
from playwright.async_api import expect

from server.accounts.models import User
from server.contacts.models import ContactPolicy
from tests.factories import PASSWORD, make_user, person, sign_in
from tests.server.orgs.conftest import join, new_org
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


async def contact_of_a_new_org(base_url, db, name: str):
    """A person with a password who became the external contact of a nurse in a new organisation: (person, org)."""
    org = await new_org(db, "Olivia Owner")
    nurse = await join(db, org.id, "member", "Nurse Li")
    someone = await make_user(db, name)
    async with aiohttp.ClientSession(base_url) as http:
        async with http.post(f"/api/v1/orgs/{org.id}/contact-links", json={}, headers=nurse.headers) as resp:
            assert resp.status == 201, await resp.text()
            token = (await resp.json())["token"]
        async with http.post("/api/v1/auth/login", json={"email": someone.email, "password": PASSWORD}) as resp:
            headers = {"Authorization": f"Bearer {(await resp.json())['token']}"}
        async with http.post("/api/v1/contact-links/accept", json={"token": token}, headers=headers) as resp:
            assert resp.status == 200, await resp.text()
    return SimpleNamespace(id=someone.id, email=someone.email, headers=headers), org


async def contact_count(db, org_id: int) -> int:
    async with db.transaction() as tx:
        return (await tx.session.get(ContactPolicy, org_id)).contact_count


async def test_an_external_contact_downloads_their_data_and_deletes_their_account(browser, base_url, db):
    mum, org = await contact_of_a_new_org(base_url, db, "Mum")
    page, problems = await open_signed_in(browser, base_url, mum, "/account")
    await expect(page.locator("#delete-form")).to_be_visible()
    await expect(page.locator("#delete-member")).to_be_hidden()

    async with page.expect_download() as download:
        await page.click("#download-data")
    saved = await (await download.value).path()
    data = json.loads(open(saved).read())
    assert data["account"]["name"] == "Mum" and [o["relation"] for o in data["organisations"]] == ["external_contact"]

    await page.click("#delete-submit")
    await expect(page.locator("#delete-error")).to_have_text("Enter your password to delete your account.")
    await page.fill("#delete-password", "not my password")
    await page.check("#delete-confirm")
    await page.click("#delete-submit")
    await expect(page.locator("#delete-error")).to_contain_text("password is wrong")
    assert await contact_count(db, org.id) == 1
    await page.fill("#delete-password", PASSWORD)
    await page.click("#delete-submit")
    await expect(page.locator("#deleted h2")).to_have_text("Your account was deleted")
    await expect(page.locator("main.account")).to_be_hidden()
    assert await page.evaluate("localStorage.getItem('muster.token')") is None
    assert await contact_count(db, org.id) == 0
    await page.click("#deleted a")
    await page.wait_for_url(f"{base_url}/")
    await page.context.close()
    assert problems == []


async def test_on_a_phone_in_chinese_a_member_is_sent_to_their_admins_and_a_contact_may_delete(browser, base_url, db, screenshots):
    org = await new_org(db, "欧丽维")
    member, problems = await open_signed_in(browser, base_url, org.owner, "/account", phone=True, language="zh-CN")
    await expect(member.locator("#delete-member")).to_contain_text("请先让各组织的管理员将你移出")
    await expect(member.locator("#delete-form")).to_be_hidden()
    await expect(member.locator("#download-data")).to_have_text("下载我的数据")
    await assert_fits_the_screen(member)
    await assert_no_english(member, data="#me-name, #org-name, .device-name, .user-agent, #delete-member")

    mum, _ = await contact_of_a_new_org(base_url, db, "妈妈")
    contact, contact_problems = await open_signed_in(browser, base_url, mum, "/account", phone=True, language="zh-CN")
    await expect(contact.locator("#delete-submit")).to_have_text("注销账号")
    await contact.fill("#delete-password", PASSWORD)
    await contact.tap("#delete-submit")
    await expect(contact.locator("#delete-error")).to_have_text("请勾选确认你了解此操作无法撤销。")
    await assert_fits_the_screen(contact)
    await assert_no_english(contact, data="#me-name, #org-name, .device-name, .user-agent, .group-name")  # their chats, now theirs to mute
    await contact.screenshot(path=str(screenshots / "account-delete-phone-zh.png"), full_page=True)
    await contact.tap("#delete-confirm")
    await contact.tap("#delete-submit")
    await expect(contact.locator("#deleted h2")).to_have_text("你的账号已注销")
    for page in (member, contact):
        await page.context.close()
    assert problems == contact_problems == []
