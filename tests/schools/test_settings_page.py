"""The schools' settings page (/schools/settings) in Chromium: an admin imports the hierarchy and watches its progress
to the report; in Chinese on a phone it fits and reads Chinese; a member is told it is for admins."""
from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.schools.conftest import SAMPLE_FILES
from tests.server.orgs.conftest import join, new_org
from tests.web.conftest import assert_fits_the_screen, assert_no_english, backend, base_url, browser, live_server, open_signed_in  # noqa: F401

pytestmark = pytest.mark.browser
WRITTEN = ".card-title, .field, .departed li, #job-failure"  # file names, columns, names: what people wrote


async def open_settings(browser, base_url, who, **options):  # noqa: F811
    page, problems = await open_signed_in(browser, base_url, who, "/schools/settings", live=False, **options)
    await expect(page.locator("#settings[data-ready='true']")).to_have_count(1)
    return page, problems


def files(extra: bytes | None = None) -> list[dict]:
    chosen = [{"name": name, "mimeType": "text/csv", "buffer": path.read_bytes()} for name, path in SAMPLE_FILES]
    if extra is not None:
        chosen[2]["buffer"] += extra
    return chosen


async def test_an_admin_imports_the_hierarchy_and_reads_its_report(browser, base_url, db):  # noqa: F811
    org = await new_org(db)
    page, problems = await open_settings(browser, base_url, org.owner)
    await expect(page.locator(".settings-tab[aria-current='page']")).to_have_text("Schools")
    await expect(page.locator("#no-history")).to_be_visible()
    await page.set_input_files("#import-files", files=files(b"P0900,,S0101-G1C1,,,,,,\n"))
    await page.click("#import-submit")
    await expect(page.locator("#job[data-status='done']")).to_have_count(1, timeout=30_000)  # the job starts a process of its own
    await expect(page.locator("#job-state")).to_have_text("Imported")
    await expect(page.locator("#job-rows")).to_have_text("24 of 24 rows")
    assert await page.locator("#job-progress").evaluate("p => p.value === p.max")
    await expect(page.locator(".count-students_created")).to_have_attribute("data-count", "5")
    await expect(page.locator(".count-failed")).to_have_attribute("data-count", "1")
    error = page.locator(".import-error")
    await expect(error.locator(".card-title")).to_contain_text("students.csv, row 7")
    await expect(error.locator(".import-message")).to_have_text("a name is required")
    await expect(page.locator("#history li")).to_have_count(1)
    await page.context.close()
    assert problems == []


async def test_on_a_phone_in_chinese_the_page_fits_and_reads_chinese(browser, base_url, db):  # noqa: F811
    org = await new_org(db, "欧丽维")
    page, problems = await open_settings(browser, base_url, org.owner, phone=True, language="zh-CN")
    await expect(page.locator(".settings-tab[aria-current='page']")).to_have_text("学校")
    await page.set_input_files("#import-files", files=files())
    await page.tap("#import-submit")
    await expect(page.locator("#job[data-status='done']")).to_have_count(1, timeout=30_000)  # the job starts a process of its own
    await expect(page.locator("#job-state")).to_have_text("已导入")
    await assert_fits_the_screen(page)
    await assert_no_english(page, allowed=("units", "staff", "students", "CSV", "UTF-8", "Excel", "external_id"), data=WRITTEN)
    await page.context.close()
    assert problems == []


async def test_a_member_is_told_the_page_is_for_admins(browser, base_url, db):  # noqa: F811
    org = await new_org(db)
    member = await join(db, org.id)
    page, problems = await open_signed_in(browser, base_url, member, "/schools/settings", live=False)
    await expect(page.locator("#not-admin")).to_be_visible()
    await page.context.close()
    assert problems == []
