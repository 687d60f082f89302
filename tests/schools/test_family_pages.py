"""The family pages in Chromium: a head teacher makes their class's cards (QR code, link) on a phone and in Chinese and
prints them two to a row; a parent opens a card's link on a phone, types a name and a relation, and lands signed in on
their children's page, seeing their child."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest
from playwright.async_api import expect

from tests.notify.test_attachments import PDF
from tests.schools.conftest import Bureau
from tests.schools.forms_world import closes_in
from tests.schools.test_guardian_files import PHOTO_FORM, notice_with_file, png, tus
from tests.server.forms.rounds_world import make_form
from tests.server.orgs.conftest import ok
from tests.web.conftest import (  # noqa: F401
    assert_fits_the_screen, assert_no_english, backend, base_url, browser, live_server, new_page, open_signed_in, screenshots,
)

pytestmark = pytest.mark.browser
SHELL = "#org-name, #me-name"  # the organisation's and the person's names: what people wrote
CARDS = ".family-card-place, .family-card-child, .family-card-url, .family-card-phone-url, #links-class, #sheet-made"


async def head_teacher(bureau: Bureau):
    return SimpleNamespace(headers=await bureau.staff("T0004"))  # Chen Jing, head teacher of North No. 1's Grade 1 Class 1


async def links_of(base_url: str, bureau: Bureau, class_key: str = "S0101-G1C1") -> dict:  # noqa: F811
    async with aiohttp.ClientSession() as http:
        url = f"{base_url}/api/v1/orgs/{bureau.org.id}/schools/units/{bureau.units[class_key]}/family-links"
        async with http.post(url, json={}, headers=await bureau.staff("T0004")) as resp:
            assert resp.status == 201, await resp.text()
            return await resp.json()


async def test_a_head_teacher_makes_the_cards_on_a_phone_in_chinese_and_prints_them(browser, base_url, bureau, screenshots):  # noqa: F811
    page, problems = await open_signed_in(browser, base_url, await head_teacher(bureau), "/schools/family-links", live=False, phone=True,
                                          language="zh-CN")
    await expect(page.locator("#links[data-ready='true']")).to_have_count(1)
    await expect(page.locator(".app-nav-link[data-place='family-links']")).to_have_attribute("aria-current", "page")
    await expect(page.locator("#links-class option")).to_have_text(["North No. 1 Primary School · Grade 1 · Class 1"])
    await expect(page.locator("#links-days")).to_have_value("14")
    await page.tap("#links-submit")
    await expect(page.locator("#sheet[data-count='2']")).to_have_count(1)
    cards = page.locator(".family-card")
    await expect(cards.locator(".family-card-child")).to_have_text(["Liu Yang", "Wang Xiaoming"])
    await expect(cards.first.locator(".family-card-place")).to_have_text("North No. 1 Primary School · Grade 1 Class 1")
    assert await cards.first.locator(".family-card-qr").evaluate("img => img.complete && img.naturalWidth > 0")
    assert "/link#" in await cards.first.locator(".family-card-url").inner_text()
    assert f"next=%2Fschools%2Ffamily%3Forg%3D{bureau.org.id}" in await cards.first.locator(".family-card-phone-url").inner_text()  # the bureau offers phone sign-in
    await assert_fits_the_screen(page)
    await assert_no_english(page, data=f"{SHELL}, {CARDS}")
    await page.screenshot(path=str(screenshots / "family-links-zh-CN.png"), full_page=True)

    await page.emulate_media(media="print")  # on paper: only the cards, two to a row
    await expect(page.locator("#shell")).to_be_hidden()
    await expect(page.locator("#links-form")).to_be_hidden()
    boxes = [await cards.nth(i).bounding_box() for i in range(2)]
    assert boxes[0]["y"] == boxes[1]["y"] and boxes[0]["x"] < boxes[1]["x"]
    await page.context.close()
    assert problems == []


async def test_a_teacher_of_no_class_is_told_so(browser, base_url, bureau):  # noqa: F811
    li = SimpleNamespace(headers=await bureau.staff("T0003"))  # the school's admin: no class of her own, but one she names
    page, problems = await open_signed_in(browser, base_url, li, "/schools/family-links", live=False)
    await expect(page.locator("#links[data-ready='true']")).to_have_count(1)
    await expect(page.locator("#no-class")).to_be_visible()
    await expect(page.locator(".app-nav-link[data-place='family-links']")).to_have_count(0)
    await page.goto(f"/schools/family-links?class={bureau.units['S0101-G6C1']}")
    await expect(page.locator("#links-class option")).to_have_text(["North No. 1 Primary School · Grade 6 · Class 1"])
    await page.click("#links-submit")
    await expect(page.locator(".family-card-child")).to_have_text(["Huang Bo"])
    await page.context.close()
    assert problems == []


@pytest.mark.parametrize("language", ["en", "zh-CN"])
async def test_a_parent_opens_the_link_on_a_phone_types_a_name_and_sees_their_child(browser, base_url, bureau, screenshots, language):  # noqa: F811
    sheet = await links_of(base_url, bureau)
    liu = next(link for link in sheet["links"] if link["name"] == "Liu Yang")
    page, problems = await new_page(browser, base_url, phone=True, language=language)
    await page.goto("/link#" + liu["url"].split("#", 1)[1])  # on this test server (the link names the public address)
    await expect(page.locator("#link-purpose")).to_contain_text("Liu Yang")
    await expect(page.locator("#link-purpose")).to_contain_text("North No. 1 Primary School")
    relation = page.locator("#link-answer-relation")
    await expect(relation).to_be_visible()
    await assert_fits_the_screen(page)
    if language == "zh-CN":
        await assert_no_english(page, data="#link-lead, #link-purpose")
    await page.screenshot(path=str(screenshots / f"family-link-{language}.png"))
    await page.fill("#link-name", "Zhou Hong")
    await page.tap("#link-submit")
    await expect(page.locator("#link-error")).to_be_visible()  # the relation too
    await relation.fill("奶奶" if language == "zh-CN" else "grandmother")
    await page.tap("#link-submit")

    await page.wait_for_url(f"**/schools/family?org={bureau.org.id}")
    await expect(page.locator("#family[data-loaded='true']")).to_have_count(1)
    await expect(page.locator("#me-name")).to_have_text("Zhou Hong")
    await expect(page.locator(".child-name")).to_have_text(["Liu Yang"])
    await expect(page.locator(".child-class")).to_have_text("North No. 1 Primary School · Grade 1 · Class 1")
    await expect(page.locator(".child-no-group")).to_be_visible()  # the class has no group yet
    await expect(page.locator(".no-org")).to_have_count(0)  # a guardian is in no organisation's membership, and that is fine here
    await expect(page.locator(".app-nav-link")).to_have_count(4)  # the places open to outsiders, not the members'
    await expect(page.locator(".app-nav-link[data-place='family']")).to_have_attribute("aria-current", "page")
    await assert_fits_the_screen(page)
    if language == "zh-CN":
        await assert_no_english(page, data=f"{SHELL}, .child-name, .child-class")
    await page.screenshot(path=str(screenshots / f"family-page-{language}.png"))
    await page.context.close()
    assert problems == []


@pytest.mark.parametrize(("language", "phone"), [("en", False), ("zh-CN", True), ("en", True), ("zh-CN", False)])
async def test_a_guardian_lands_on_home_with_their_places_and_finds_their_children(browser, base_url, bureau, screenshots,  # noqa: F811
                                                                                   language, phone):
    wang = SimpleNamespace(headers=await bureau.guardian("+8613900000001"))  # in no organisation's membership
    page, problems = await open_signed_in(browser, base_url, wang, "/home", phone=phone, language=language)
    await expect(page.locator("#home .home-section")).to_have_count(2)  # forms to fill in, notices
    await expect(page.locator(".no-org")).to_have_count(0)
    await expect(page.locator("#org-name")).to_have_text("Org of Olivia Owner")
    places = page.locator(".app-nav-link")
    await expect(places).to_have_count(4)
    assert await places.evaluate_all("links => links.map((a) => a.dataset.place)") == ["home", "family", "groups", "notices"]
    await expect(page.locator(".app-nav-link[data-place='home']")).to_have_attribute("aria-current", "page")
    await assert_fits_the_screen(page)
    if language == "zh-CN":
        await assert_no_english(page, data=SHELL)
    await page.screenshot(path=str(screenshots / f"guardian-home-{language}-{'phone' if phone else 'desktop'}.png"))
    await page.locator(".app-nav-link[data-place='family']").click()
    await page.wait_for_url(f"**/schools/family?org={bureau.org.id}")
    await expect(page.locator(".child-name")).to_have_text(["Wang Xiaoming", "Wang Xiaohong"])
    await page.locator(".app-nav-link[data-place='notices']").click()
    await page.wait_for_url(f"**/notify/inbox?org={bureau.org.id}")
    await expect(page.locator("#org-name")).to_have_text("Org of Olivia Owner")
    await assert_fits_the_screen(page)
    await page.context.close()
    assert problems == []


@pytest.mark.parametrize(("language", "phone"), [("en", False), ("zh-CN", True)])
async def test_a_guardian_downloads_a_notices_file_and_sees_the_photo_they_answered_with(browser, base_url, bureau, screenshots,  # noqa: F811
                                                                                         client, db, language, phone):
    liu = SimpleNamespace(headers=await bureau.guardian("+8613900000003"))
    await notice_with_file(client, bureau, "S0101-G1C1")
    form = await make_form(db, bureau.org.id, bureau.org.owner.id, PHOTO_FORM, title="Rash check")
    body = {"audience": {"department_ids": [bureau.units["S0101-G1C1"]]}, "respondent_kind": "student", "closes_at": closes_in()}
    round_id = (await ok(await client.post(bureau.org.url(f"/forms/{form}/rounds"), json=body, headers=bureau.owner), 201))["id"]
    file_id = await tus(client, bureau.org.url("/form-photos"), liu.headers, png(), "rash.png", "image/png")
    answer = {"client_id": "c" * 32, "respondent_id": bureau.students["P0003"], "answers": {"rash": file_id}}
    await ok(await client.post(bureau.org.url(f"/rounds/{round_id}/submissions"), json=answer, headers=liu.headers), 201)

    page, problems = await open_signed_in(browser, base_url, liu, f"/notify/inbox?org={bureau.org.id}", phone=phone, language=language)
    link = page.locator(".attachment-file")
    await expect(link).to_contain_text("plan.pdf")
    async with page.expect_download() as downloading:
        await link.click()
    download = await downloading.value
    assert Path(await download.path()).read_bytes() == PDF
    await assert_fits_the_screen(page)

    await page.goto(f"/f/{round_id}?org={bureau.org.id}")
    kept = page.locator(".photo-kept")
    await expect(kept).to_be_visible()
    assert await kept.evaluate("img => img.complete && img.naturalWidth > 0")
    await assert_fits_the_screen(page)
    if language == "zh-CN":
        await assert_no_english(page, data=f"{SHELL}, #form-title, #respondent, .fill-label")
    await page.screenshot(path=str(screenshots / f"guardian-photo-{language}.png"), full_page=True)
    await page.context.close()
    assert problems == []
