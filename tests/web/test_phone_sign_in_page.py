"""Signing in by phone on the sign-in page (number → code → in), on a phone, in Chinese and English; the sign-in link page;
the organisation's switch in its settings. The SMS provider is the fake Twilio; the code is read off the SMS it got."""
from __future__ import annotations

import pytest
from playwright.async_api import expect

from server.accounts import sign_in_links
from server.accounts.auth import Principal
from server.accounts.sign_in_links import SignInGrant, SignInLinkKind, do_issue_sign_in_link
from server.accounts.users import do_create_user
from server.appkeys import SETTINGS
from server.config import Settings
from server.orgs.access import OrgContext
from server.orgs.models import Membership
from tests.factories import make_org, make_user
from tests.server.accounts.phones import code_in, member_with_phone, next_sms, phone_org, start_sms_provider
from tests.server.orgs.conftest import new_org
from tests.web.conftest import assert_fits_the_screen, assert_no_english, new_page
from tests.web.test_admin_page import api_get, open_admin

MEI = "+8613900000001"


@pytest.fixture
async def sms(monkeypatch):
    provider = await start_sms_provider(monkeypatch)
    yield provider
    await provider.stop()


@pytest.fixture
def settings(sms, database_url, tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, secret_key="test-secret-key-for-phone-pages")


@pytest.mark.parametrize("language", ["en", "zh-CN"])
async def test_on_a_phone_the_number_brings_a_code_and_the_code_signs_in(browser, base_url, db, sms, screenshots, language):
    org, _ = await phone_org(db)
    await member_with_phone(db, org.id, MEI, "Mei", locale=language)
    page, problems = await new_page(browser, base_url, phone=True, language=language)
    await page.goto(f"/?org={org.slug}")

    await expect(page.locator("#phone-form")).to_be_visible()  # the link named the organisation: phone first, no field for it
    await expect(page.locator("#phone-org-row")).to_be_hidden()
    await page.fill("#phone", "139 0000 0001")
    await page.click("#phone-send")
    await expect(page.locator("#phone-code")).to_be_focused()
    await expect(page.locator("#phone-sent")).to_contain_text("5")
    await assert_fits_the_screen(page)
    if language == "zh-CN":
        await assert_no_english(page)
    await page.screenshot(path=str(screenshots / f"phone-sign-in-{language}.png"))

    code = code_in(await next_sms(sms, MEI))
    await page.fill("#phone-code", "000000" if code != "000000" else "111111")
    await page.click("#phone-submit")
    await expect(page.locator("#phone-error")).to_be_visible()
    await page.fill("#phone-code", code)
    await page.click("#phone-submit")
    await page.wait_for_url("**/home")
    await expect(page.locator("#me-name")).to_have_text("Mei")
    assert await page.evaluate("localStorage.getItem('muster.phone_org')") == org.slug
    await page.context.close()
    assert problems == []


async def test_without_a_link_the_page_asks_for_the_organisation_and_says_when_it_offers_no_phone_sign_in(browser, base_url, db, sms):
    org, _ = await phone_org(db, phone_sign_in=False)
    page, problems = await new_page(browser, base_url)
    await page.goto("/")
    await expect(page.locator("#login-form")).to_be_visible()
    await page.click("#way-phone")
    await expect(page.locator("#login-form")).to_be_hidden()
    await expect(page.locator("#phone-org")).to_be_visible()
    await page.fill("#phone-org", org.slug)
    await page.fill("#phone", MEI)
    await page.click("#phone-send")
    await expect(page.locator("#phone-error")).to_contain_text("does not offer sign-in by phone")
    await page.context.close()
    assert problems == []


@pytest.fixture
def class_link_kind(monkeypatch):
    async def describe(tx, link, locale):
        return "3B 班" if locale == "zh-CN" else "Class 3B"

    async def join(tx, link, name, answers):
        user = await do_create_user(tx, name=name, email=None)
        tx.session.add(Membership(org_id=tx.org_id, user_id=user.id, role="member", display_name=name))
        return SignInGrant(user)

    monkeypatch.setattr(sign_in_links, "_kinds", {})
    sign_in_links.register_sign_in_link("test.class", SignInLinkKind(describe, join))


@pytest.mark.parametrize("language", ["en", "zh-CN"])
async def test_a_class_link_on_a_phone_asks_a_name_and_signs_in(browser, base_url, db, app, class_link_kind, screenshots, language):
    teacher = await make_user(db, "Teacher")
    org = await make_org(db, teacher, "Riverside Primary")
    async with db.transaction(org_id=org.id) as tx:
        token, _ = await do_issue_sign_in_link(
            tx, OrgContext(org_id=org.id, principal=Principal(teacher.id, 1, "Teacher"), membership_id=None, role="owner"), app[SETTINGS],
            kind="test.class", subject_id=7, expires_in_s=3600, max_uses=None,
        )
    page, problems = await new_page(browser, base_url, phone=True, language=language)
    await page.goto(f"/link#{token}")
    await expect(page.locator("#link-purpose")).to_contain_text("3B")
    await expect(page.locator("#link-lead")).to_contain_text("Riverside Primary")
    await assert_fits_the_screen(page)
    if language == "zh-CN":
        await assert_no_english(page, allowed=("Riverside", "Primary"))
    await page.screenshot(path=str(screenshots / f"sign-in-link-{language}.png"))
    await page.click("#link-submit")
    await expect(page.locator("#link-error")).to_be_visible()  # the name first
    await page.fill("#link-name", "Lin's mother")
    await page.click("#link-submit")
    await page.wait_for_url("**/home")
    await expect(page.locator("#me-name")).to_have_text("Lin's mother")
    await page.context.close()
    assert problems == []


async def test_admins_switch_phone_sign_in_on_in_the_organisation_settings(browser, base_url, db):
    org = await new_org(db, "Olivia Owner")
    page, problems = await open_admin(browser, base_url, org.owner, phone=True, language="zh-CN")
    box = page.locator("#org-phone-sign-in")
    await expect(box).not_to_be_checked()
    await box.check()
    await page.click("#org-form button[type=submit]")
    await expect(page.locator("#org-status")).not_to_be_empty()
    assert (await api_get(base_url, org.owner, f"/orgs/{org.id}"))["phone_sign_in"] is True
    await assert_fits_the_screen(page)
    await page.context.close()
    assert problems == []
