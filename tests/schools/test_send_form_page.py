"""The send-form page offers the registered kinds of respondent: a school's administrator sends a round to the children
of one class from the page, picking it from the units within her reach (a level at a time), on a desktop in English and
on a phone in Chinese; the bureau's owner may also send to everyone."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from playwright.async_api import expect

from tests.server.forms.rounds_world import make_form
from tests.server.orgs.conftest import ok
from tests.web.conftest import (  # noqa: F401
    assert_fits_the_screen, assert_no_english, backend, base_url, browser, live_server, open_signed_in, screenshots,
)

pytestmark = pytest.mark.browser
TRIP = {"fields": [{"name": "coming", "type": "yes_no", "label": "Coming?"}]}


@pytest.mark.parametrize(("language", "phone"), [("en", False), ("zh-CN", True)])
async def test_a_school_admin_sends_a_round_to_one_class_of_children_from_the_page(browser, base_url, screenshots,  # noqa: F811
                                                                                    client, db, bureau, language, phone):
    li_hua = SimpleNamespace(headers=await bureau.staff("T0003"))  # administers North No. 1
    form = await make_form(db, bureau.org.id, await bureau.staff_id("T0003"), TRIP, title="Class trip")
    page, problems = await open_signed_in(browser, base_url, li_hua, f"/forms/{form}/rounds", live=False, phone=phone, language=language)
    await expect(page.locator("#form-title")).to_have_text("Class trip")
    await expect(page.locator("#respondent-kind option")).to_have_count(2)
    await expect(page.locator("#everyone-row")).to_be_hidden()  # her reach is her school
    await page.select_option("#respondent-kind", "student")
    top = page.locator("#units > .unit")
    await expect(top.locator(".unit-name")).to_have_text(["North No. 1 Primary School"])
    await top.locator(".unit-open").click()
    grade1 = page.locator(".unit", has=page.locator(".unit-name", has_text="Grade 1")).last
    await grade1.locator(".unit-open").click()
    class1 = page.locator(".unit", has=page.locator(".unit-name", has_text="Class 1")).last
    await class1.locator("input").check()
    await assert_fits_the_screen(page)
    if language == "zh-CN":
        await assert_no_english(page, data="#form-title, .unit-name, #org-name, #me-name")
    await page.screenshot(path=str(screenshots / f"send-to-children-{language}.png"), full_page=True)
    await page.locator("#send").click()
    await page.wait_for_url("**/rounds/*")
    round_id = int(page.url.rsplit("/", 1)[1])
    sent = await ok(await client.get(bureau.org.url(f"/forms/{form}/rounds"), headers=li_hua.headers))
    assert [(r["id"], r["respondent_kind"], r["expected"]) for r in sent["items"]] == [(round_id, "student", 2)]  # Wang Xiaoming, Liu Yang
    await page.context.close()
    assert problems == []


async def test_the_bureaus_owner_sends_to_every_child(browser, base_url, client, db, bureau):  # noqa: F811
    form = await make_form(db, bureau.org.id, bureau.org.owner.id, TRIP, title="City check")
    page, problems = await open_signed_in(browser, base_url, bureau.org.owner, f"/forms/{form}/rounds", live=False)
    await page.select_option("#respondent-kind", "student")
    await expect(page.locator("#units .unit-name")).to_have_text(["Riverside Education Bureau"])
    await page.locator("#everyone").check()
    await expect(page.locator("#units")).to_be_hidden()
    await page.locator("#send").click()
    await page.wait_for_url("**/rounds/*")
    sent = await ok(await client.get(bureau.org.url(f"/forms/{form}/rounds"), headers=bureau.owner))
    assert [(r["respondent_kind"], r["expected"]) for r in sent["items"]] == [("student", 5)]
    await page.context.close()
    assert problems == []
