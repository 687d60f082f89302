"""The organisation's settings page at ``/admin`` in Chromium: an admin changes the time zone, adds, invites,
changes and removes members, shapes the department tree and imports a workbook; on a 375x667 phone in
Chinese too; a member is told the page is for administrators and gets no settings place."""
from __future__ import annotations

import io

import aiohttp
import openpyxl
from playwright.async_api import expect

from server.audit.record import Someone, do_audit
from tests.server.orgs.conftest import join, new_org, signed_in
from tests.web.conftest import assert_fits_the_screen, assert_no_english, open_signed_in

# What people wrote (names, emails, departments) may be in any script; the page's own words must be Chinese.
WRITTEN = ".member-name, .card-details span, .department-name, #org-name, #me-name, option, code"


async def api_get(base_url: str, who, path: str):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base_url}/api/v1{path}", headers=who.headers) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()


async def open_admin(browser, base_url, who, section: str = "organisation", **options):
    page, problems = await open_signed_in(browser, base_url, who, f"/admin#{section}", live=False, **options)
    await expect(page.locator(f"#admin[data-ready='{section}']")).to_have_count(1)
    return page, problems


async def test_an_admin_changes_the_time_zone(browser, base_url, db):
    org = await new_org(db, "Olivia Owner")
    page, problems = await open_admin(browser, base_url, org.owner)
    await expect(page.locator(".app-nav-link[data-place='settings']")).to_have_attribute("aria-current", "page")
    await expect(page.locator("#org-time-zone")).to_have_value("Asia/Shanghai")
    await page.select_option("#org-time-zone", "Europe/London")
    await page.fill("#org-name-input", "Riverside Hospital")
    await page.click("#org-form button[type=submit]")
    await expect(page.locator("#org-status")).to_have_text("Saved")
    stored = await api_get(base_url, org.owner, f"/orgs/{org.id}")
    assert (stored["time_zone"], stored["name"]) == ("Europe/London", "Riverside Hospital")
    await page.context.close()
    assert problems == []


async def test_an_admin_adds_invites_changes_and_removes_members(browser, base_url, db):
    org = await new_org(db, "Olivia Owner")
    admin = await join(db, org.id, "admin", "Adam Admin")
    existing = await signed_in(db, "Ella Elsewhere")  # an account of its own: invited, never added
    page, problems = await open_admin(browser, base_url, admin, "members")
    form = page.locator("#add-member")

    await page.click("#add-member-toggle")
    await form.locator("[name=display_name]").fill("Wang Fang")
    await form.locator("[name=phone]").fill("13900000007")
    await form.locator("[name=title]").fill("Ward Sister")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#add-status")).to_have_text("Added.")
    wang = page.locator(".member-card", has_text="Wang Fang")
    await expect(wang).to_contain_text("+8613900000007")
    await expect(wang.locator(".role")).to_have_text("member")
    # An admin cannot make owners: the API refuses it, and the page does not offer it.
    await wang.locator("button.edit").click()
    await expect(page.locator("#member-form [name=role] option[value=owner]")).to_be_disabled()
    await page.select_option("#member-form [name=role]", "admin")
    await page.fill("#member-form [name=title]", "Head Nurse")
    await page.click("#member-save")
    await expect(wang.locator(".role")).to_have_text("admin")
    await expect(wang).to_contain_text("Head Nurse")

    await form.locator("[name=display_name]").fill("Ella")
    await form.locator("[name=email]").fill(existing.email)
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#needs-consent")).to_be_visible()
    await page.click("#invite-instead")
    invitation = page.locator(".invitation-card", has_text="Ella")
    await expect(invitation).to_contain_text(existing.email)
    await invitation.locator("button.withdraw").click()
    await expect(page.locator("#invitations")).to_be_hidden()

    await wang.locator("button.edit").click()
    await page.click("#member-remove")
    await expect(page.locator("#member-confirm-text")).to_contain_text("Wang Fang loses access to everything")
    await page.click("#member-remove-confirm")
    await expect(wang).to_have_count(0)
    listed = await api_get(base_url, admin, f"/orgs/{org.id}/members?q=wang")
    assert listed["items"] == []
    await page.context.close()
    assert problems == []


async def test_an_admin_creates_renames_moves_and_deletes_departments(browser, base_url, db):
    org = await new_org(db)
    page, problems = await open_admin(browser, base_url, org.owner, "departments")
    form = page.locator("#new-department")
    await form.locator("[name=name]").fill("Surgery")
    await form.locator("button[type=submit]").click()
    await expect(page.locator(".department-row", has_text="Surgery")).to_have_count(1)
    await form.locator("[name=name]").fill("Ward 3")
    await form.locator("[name=parent_id]").select_option(label="Surgery")
    await form.locator("button[type=submit]").click()
    ward = page.locator(".department-row[data-depth='1']")
    await expect(ward.locator(".department-name")).to_have_text("Ward 3")

    await ward.locator("button.edit").click()
    await page.fill("#department-form [name=name]", "Ward 3 North")
    await expect(page.locator("#department-form [name=parent_id] option", has_text="Ward 3")).to_have_count(0)  # not under itself
    await page.select_option("#department-form [name=parent_id]", "")
    await page.click("#department-form button[type=submit]")
    await expect(page.locator(".department-row[data-depth='0'] .department-name")).to_have_text(["Surgery", "Ward 3 North"])

    await page.locator(".department-row", has_text="Surgery").locator("button.edit").click()
    await page.click("#department-delete")
    await expect(page.locator(".department-name")).to_have_text(["Ward 3 North"])
    names = [d["name"] for d in await api_get(base_url, org.owner, f"/orgs/{org.id}/departments")]
    assert names == ["Ward 3 North"]
    await page.context.close()
    assert problems == []


def workbook(rows: list[list[str]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


async def test_an_admin_imports_a_workbook_and_reads_its_report(browser, base_url, db):
    org = await new_org(db)
    xlsx = workbook([
        ["external_id", "name", "phone", "department", "title"],
        ["E1", "Liu Yang", "13900000002", "Surgery/Ward 3", "Staff Nurse"],
        ["E2", "", "13900000003", "Surgery", ""],
    ])
    page, problems = await open_admin(browser, base_url, org.owner, "imports")
    await page.set_input_files("#import-file", files=[{"name": "staff.xlsx", "mimeType": "application/octet-stream", "buffer": xlsx}])
    await page.click("#import-submit")
    await expect(page.locator("#import-report")).to_be_visible()
    await expect(page.locator(".count-created")).to_have_attribute("data-count", "1")
    await expect(page.locator(".count-failed")).to_contain_text("1 row not imported")
    error = page.locator(".import-error")
    await expect(error).to_contain_text("Row 3")
    await expect(error.locator(".import-message")).to_have_text("a name is required")
    listed = await api_get(base_url, org.owner, f"/orgs/{org.id}/members?q=liu")
    assert [(m["display_name"], m["department"]["name"]) for m in listed["items"]] == [("Liu Yang", "Ward 3")]
    await page.context.close()
    assert problems == []


async def test_on_a_phone_in_chinese_an_admin_adds_a_member_and_changes_the_role(browser, base_url, db, screenshots):
    org = await new_org(db, "欧丽维")
    page, problems = await open_admin(browser, base_url, org.owner, "members", phone=True, language="zh-CN")
    await expect(page.locator(".settings-tab[data-section='members']")).to_have_text("成员")
    await page.tap("#add-member-toggle")
    await page.locator("#add-member [name=display_name]").fill("王芳")
    await page.locator("#add-member [name=phone]").fill("13900000007")
    await page.locator("#add-member button[type=submit]").tap()
    await expect(page.locator("#add-status")).to_have_text("已添加。")
    wang = page.locator(".member-card", has_text="王芳")
    await expect(wang.locator(".role")).to_have_text("成员")
    await assert_fits_the_screen(page)
    await assert_no_english(page, data=WRITTEN)

    await wang.locator("button.edit").tap()
    dialog = page.locator("#member-dialog")
    await expect(dialog).to_be_visible()
    box = await dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    await assert_no_english(page, data=WRITTEN)
    await page.select_option("#member-form [name=role]", "admin")
    await page.tap("#member-save")
    await expect(wang.locator(".role")).to_have_text("管理员")
    await assert_fits_the_screen(page)
    await page.screenshot(path=str(screenshots / "admin-members-phone-zh.png"), full_page=True)
    await page.context.close()
    assert problems == []


async def test_a_member_gets_no_settings_place_and_the_page_says_it_is_for_admins(browser, base_url, db):
    org = await new_org(db)
    member = await join(db, org.id, "member", "Mia Member")
    page, problems = await open_signed_in(browser, base_url, member, "/admin", live=False)
    await expect(page.locator("#not-admin")).to_be_visible()
    await expect(page.locator("#not-admin h2")).to_have_text("These settings are for administrators")
    await expect(page.locator("#admin")).to_be_hidden()
    await expect(page.locator(".app-nav-link[data-place='home']")).to_have_count(1)
    await expect(page.locator(".app-nav-link[data-place='settings']")).to_have_count(0)
    await page.context.close()
    assert problems == []


async def record_some_actions(db, org) -> None:
    owner = Someone(org.owner.id, org.owner.user.name)
    async with db.transaction(org_id=org.id) as tx:
        await do_audit(tx, owner, "member.removed", target=("member", 12))
        await do_audit(tx, None, "external_contacts.handed_over", details={"automatic": True})
        await do_audit(tx, owner, "recording.downloaded", target=("recording", 3))


async def test_the_audit_log_reads_as_sentences(browser, base_url, db):
    org = await new_org(db, "Olivia Owner")
    await record_some_actions(db, org)
    async with db.transaction(org_id=org.id) as tx:
        await do_audit(tx, None, "retired.action")  # written by an older version: shown as its code
    page, problems = await open_admin(browser, base_url, org.owner, "audit")
    removed = page.locator(".audit-entry[data-action='member.removed']")
    await expect(removed.locator(".action")).to_have_text("Removed a member")
    await expect(removed.locator(".target")).to_have_text("member 12")
    await expect(removed.locator(".actor")).to_have_text("Olivia Owner")
    handed = page.locator(".audit-entry[data-action='external_contacts.handed_over']")
    await expect(handed.locator(".action")).to_have_text("Handed external contacts over to a colleague")
    await expect(handed.locator(".actor")).to_have_text("Automatically")
    await expect(page.locator(".audit-entry[data-action='recording.downloaded'] .action")).to_have_text("Downloaded a meeting recording")
    await expect(page.locator(".audit-entry[data-action='retired.action'] .action")).to_have_text("retired.action")
    await page.context.close()
    assert problems == []


async def test_on_a_phone_in_chinese_the_audit_log_reads_as_chinese_sentences(browser, base_url, db, screenshots):
    org = await new_org(db, "欧丽维")
    await record_some_actions(db, org)
    page, problems = await open_admin(browser, base_url, org.owner, "audit", phone=True, language="zh-CN")
    removed = page.locator(".audit-entry[data-action='member.removed']")
    await expect(removed.locator(".action")).to_have_text("移除了成员")
    await expect(removed.locator(".target")).to_have_text("成员 12")
    await expect(page.locator(".audit-entry[data-action='external_contacts.handed_over'] .actor")).to_have_text("系统自动")
    await expect(page.locator(".audit-entry[data-action='org.created'] .action")).to_have_text("创建了组织")
    await assert_fits_the_screen(page)
    await assert_no_english(page, allowed=("CSV",), data=WRITTEN)
    await page.screenshot(path=str(screenshots / "admin-audit-phone-zh.png"), full_page=True)
    await page.context.close()
    assert problems == []
