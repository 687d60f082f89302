"""The hierarchy's page in Chromium (/schools/units): staff browse the units they reach, a level at a time with each
unit's counts, and those who manage a unit roll the school year over from it, following the job to its report; on a
desktop in English and on a phone in Chinese."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from playwright.async_api import expect

from schools.jobs import JobProgress, do_start_job
from schools.rollover import RolloverReport
from tests.schools.conftest import Bureau
from tests.web.conftest import (  # noqa: F401
    assert_fits_the_screen, assert_no_english, backend, base_url, browser, live_server, open_signed_in, screenshots,
)

pytestmark = pytest.mark.browser
NAMES = ".unit-name, #rollover-unit, #org-name, #me-name"


async def staff(bureau: Bureau, external_id: str) -> SimpleNamespace:
    return SimpleNamespace(headers=await bureau.staff(external_id))


@pytest.mark.parametrize(("language", "phone"), [("en", False), ("zh-CN", True)])
async def test_a_school_admin_browses_her_school_and_rolls_its_year_over(browser, base_url, client, bureau, screenshots,  # noqa: F811
                                                                           language, phone):
    li_hua = await staff(bureau, "T0003")  # administers North No. 1
    page, problems = await open_signed_in(browser, base_url, li_hua, "/schools/units", live=False, phone=phone, language=language)
    await expect(page.locator("#units-page[data-ready='true']")).to_have_count(1)
    await expect(page.locator(".app-nav-link[data-place='schools']")).to_have_attribute("aria-current", "page")
    top = page.locator("#tree > .unit-row")
    await expect(top.locator(".unit-name")).to_have_text(["North No. 1 Primary School"])
    await expect(top.locator(".unit-counts")).to_have_text("3 classes · 4 children · 3 staff" if language == "en" else "3 个班级 · 4 名学生 · 3 名教职工")
    await top.locator(".unit-open").click()
    grades = page.locator("#tree > .unit-row > .unit-tree > .unit-row")
    await expect(grades.locator(".unit-name")).to_have_text(["Grade 1", "Grade 6"])
    await grades.first.locator(".unit-open").click()
    await expect(grades.first.locator(".unit-tree .unit-name")).to_have_text(["Class 1", "Class 2"])
    await assert_fits_the_screen(page)
    if language == "zh-CN":
        await assert_no_english(page, data=NAMES)
    await page.screenshot(path=str(screenshots / f"units-{language}.png"), full_page=True)

    await expect(page.locator("#rollover-unit option")).to_have_count(1)
    await page.fill("#rollover-label", "2025-2026")
    await page.locator("#rollover-submit").click()
    await expect(page.locator("#rollover-error")).to_be_visible()  # the box is not ticked
    await page.locator("#rollover-sure").check()
    await page.locator("#rollover-submit").click()
    await expect(page.locator("#rollover-job[data-status='done']")).to_have_count(1, timeout=20_000)
    counts = {key: await page.locator(f"[data-count='{key}'] strong").inner_text()
              for key in ("schools", "promoted", "graduated_classes", "graduated_students")}
    assert counts == {"schools": "1", "promoted": "2", "graduated_classes": "1", "graduated_students": "1"}  # Grade 6 Class 1: Huang Bo
    await expect(page.locator("#rollover-progress")).to_have_attribute("value", "1")
    await assert_fits_the_screen(page)
    if language == "zh-CN":
        await assert_no_english(page, data=NAMES)
    await page.screenshot(path=str(screenshots / f"rollover-{language}.png"), full_page=True)
    # the same label again: the school is left alone
    await page.locator("#rollover-submit").click()
    await expect(page.locator("#rollover-job[data-status='done'] [data-count='already']")).to_have_count(1, timeout=20_000)
    await page.context.close()
    assert problems == []


async def test_a_head_teacher_browses_their_classes_and_rolls_nothing_over(browser, base_url, bureau):  # noqa: F811
    page, problems = await open_signed_in(browser, base_url, await staff(bureau, "T0004"), "/schools/units", live=False)
    await expect(page.locator("#units-page[data-ready='true']")).to_have_count(1)
    await expect(page.locator("#tree > .unit-row .unit-name")).to_have_text(["Class 1", "Class 2"])  # head of one, subject teacher of the other
    await expect(page.locator("#rollover")).to_be_hidden()
    await page.context.close()
    assert problems == []



async def test_a_reloaded_page_finds_the_rollover_running_and_follows_it_to_its_report(browser, base_url, bureau):  # noqa: F811
    report = RolloverReport(label="2025-2026", schools_total=2, schools=1, promoted=2)
    job_id = await do_start_job(bureau.db, bureau.org.id, kind="rollover", started_by=None, unit_id=bureau.units["D01"], report=report.as_json())
    progress = JobProgress(bureau.db, bureau.org.id, job_id)
    await progress(report)  # a school of the two done, as the job's worker writes it
    page, problems = await open_signed_in(browser, base_url, await staff(bureau, "T0002"), "/schools/units", live=False)  # North District's staff
    for reload in (False, True):  # opened, then reloaded
        if reload:
            await page.reload()
        await expect(page.locator("#rollover-job[data-status='running']")).to_be_visible()
        await expect(page.locator("#rollover-progress")).to_have_attribute("value", "1")
        await expect(page.locator("#rollover-progress")).to_have_attribute("max", "2")
        await expect(page.locator("#rollover-label")).to_have_value("2025-2026")
        await expect(page.locator("#rollover-submit")).to_be_disabled()
    report.schools, report.promoted = 2, 3
    await progress.finish(report)
    await expect(page.locator("#rollover-job[data-status='done'] [data-count='promoted'] strong")).to_have_text("3")
    await expect(page.locator("#rollover-progress")).to_have_attribute("value", "2")
    await expect(page.locator("#rollover-submit")).to_be_enabled()
    await page.context.close()
    assert problems == []
