"""The notify pages in headless Chromium: a sender composes with a file and a link and follows the receipts live, two
recipients read, one downloads the file and confirms, a failing SMS provider shows on the dashboard, and "remind again"
reaches only the unconfirmed."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.factories import person
from tests.notify.conftest import add_member
from tests.web.conftest import assert_fits_the_screen, assert_no_english, backend, browser, open_signed_in, screenshots  # noqa: F401  (the page-test fixtures)

pytestmark = pytest.mark.browser

PLAN = b"%PDF-1.7\n" + bytes(range(256)) * 1200  # 300 KB: the progress bar has something to show


async def test_send_follow_live_confirm_and_remind_only_the_unconfirmed(browser, client, db, org, fake_provider, server_port, screenshots):  # noqa: F811
    base_url = f"http://127.0.0.1:{server_port}"
    rita, sam = await person(client, db, "Rita"), await person(client, db, "Sam")
    for who, name in ((rita, "Rita"), (sam, "Sam")):
        await add_member(db, org.id, who.id, name)  # no phone: only Pat (who has no device open) is texted
    policy = {"sms_after_s": 0, "call_after_s": None, "repeats": 0, "repeat_interval_s": 60}
    assert (await client.put(f"/api/v1/orgs/{org.id}/broadcast-policy", json=policy, headers=org.admin.headers)).status == 200
    fake_provider.mode = "fail"

    rita_page, rita_errors = await open_signed_in(browser, base_url, rita, "/notify/inbox")
    sam_page, sam_errors = await open_signed_in(browser, base_url, sam, "/notify/inbox")
    sender, sender_errors = await open_signed_in(browser, base_url, org.admin, "/notify")

    await sender.fill("#title", "Code red")
    await sender.fill("#body", "Evacuate ward 3 now.")
    await sender.click("#add-link")
    await sender.fill(".link-name", "Evacuation plan")
    await sender.fill(".link-url", "https://intranet.example.org/plan.pdf")
    await sender.set_input_files("#attachment-input", files=[{"name": "Evacuation plan.pdf", "mimeType": "application/pdf", "buffer": PLAN}])
    await expect(sender.locator("#files .file-row")).to_have_attribute("data-state", "done")
    await expect(sender.locator("#files .file-row .percent")).to_have_text("100%")
    await sender.locator("#compose").screenshot(path=str(screenshots / "notify-compose.png"))
    for name in ("Rita", "Sam", "Pat"):
        await sender.fill("#member-search", name)
        await sender.click(f"#member-results button:text-is('+ {name}')")
    await expect(sender.locator("#chosen-members .chip")).to_have_count(3)
    await sender.click("#send")

    for page in (rita_page, sam_page):
        notice = page.locator(".notice")
        await expect(notice.locator(".notice-title")).to_have_text("Code red")
        await expect(notice.locator(".notice-meta")).to_contain_text("From Ada Admin")
        await expect(notice.locator(".attachments a.attachment-link")).to_have_attribute("href", "https://intranet.example.org/plan.pdf")
        await expect(notice.locator(".attachments a.attachment-file")).to_have_text("Evacuation plan.pdf (300.0 KB)")
        await expect(notice).to_have_attribute("data-state", "read")

    count = lambda state: sender.locator(f"[data-count='{state}']")  # noqa: E731
    await expect(count("sent")).to_have_text("3")
    await expect(count("delivered")).to_have_text("2")  # Pat has no device
    await expect(count("read")).to_have_text("2")
    await expect(sender.locator("ul[data-state='read'] li")).to_have_count(2)
    await expect(sender.locator("ul[data-state='unread'] li")).to_contain_text(["Pat"])
    await expect(sender.locator("#unread-heading")).to_have_text("Not read yet (1 person)")
    await expect(sender.locator("#failed .failed-delivery")).to_contain_text(["Pat · SMS failed: "])  # after 3 tries

    await expect(sender.locator("#dash-attachments a.attachment-file")).to_have_text("Evacuation plan.pdf (300.0 KB)")
    async with rita_page.expect_download() as downloading:
        await rita_page.click(".notice a.attachment-file")
    download = await downloading.value
    assert download.suggested_filename == "Evacuation plan.pdf"
    assert Path(await download.path()).read_bytes() == PLAN

    await rita_page.click(".notice button.confirm")
    await expect(rita_page.locator(".notice .confirmed-at")).to_contain_text("You confirmed")
    await expect(count("confirmed")).to_have_text("1")
    await expect(sender.locator("ul[data-state='confirmed'] li")).to_contain_text(["Rita"])

    await sender.click("#remind")
    await expect(sender.locator("#remind-result")).to_have_text("Reminded 2 people.")  # Sam and Pat, not Rita
    await expect(sam_page.locator(".notice .reminder")).to_have_count(1)
    await expect(sender.locator("ul[data-state='read'] li")).to_have_text([re.compile(r"^Sam .* reminded ×1$")])
    await expect(rita_page.locator(".notice .reminder")).to_have_count(0)
    await expect(rita_page.locator(".notice")).to_have_count(1)
    await sender.screenshot(path=str(screenshots / "notify-dashboard.png"), full_page=True)
    await sam_page.screenshot(path=str(screenshots / "notify-inbox.png"), full_page=True)
    assert sender_errors == [] and rita_errors == [] and sam_errors == []


# What people wrote (names, titles, notices): not translated.
WRITTEN = "#me-name, #org-name, .notice-title, .notice-body, .notice-meta, #dash-title, #history, .people li, #departments, #groups, .home-item-title, .home-item-detail"


async def test_a_notice_sent_from_a_phone_in_chinese_reaches_anothers_inbox_and_home_and_is_confirmed_there(browser, client, db, org, server_port, screenshots):  # noqa: F811
    base_url = f"http://127.0.0.1:{server_port}"
    rita = await person(client, db, "Rita")
    await add_member(db, org.id, rita.id, "Rita")
    sender, sender_errors = await open_signed_in(browser, base_url, org.admin, "/notify", phone=True, language="zh-CN")
    await expect(sender.locator(".app-nav-link[data-place='send-notice'][aria-current='page']")).to_have_count(1)
    await expect(sender.locator("#departments li")).to_have_count(4)
    await assert_no_english(sender, data=WRITTEN)
    await assert_fits_the_screen(sender)
    await sender.fill("#title", "Code red")
    await sender.fill("#body", "Evacuate ward 3 now.")
    await sender.fill("#member-search", "Rita")
    await sender.tap("#member-results button:text-is('+ 添加Rita')")
    await sender.tap("#send")
    await expect(sender.locator("[data-count='sent']")).to_have_text("1")
    await expect(sender.locator("#dash-meta")).to_contain_text("发送给 1 人")
    await assert_no_english(sender, data=WRITTEN + ", #chosen-members")
    await assert_fits_the_screen(sender)
    await sender.screenshot(path=str(screenshots / "notify-send-phone-zh.png"), full_page=True)

    home, home_errors = await open_signed_in(browser, base_url, rita, "/home", phone=True, language="zh-CN")
    waiting = home.locator("[data-section='notices']")
    await expect(waiting.locator(".home-item.urgent .home-item-title")).to_have_text(["Code red"])
    await expect(waiting.locator(".home-item-detail")).to_contain_text("Ada Admin")
    await expect(home.locator(".app-nav-link[data-place='notices']")).to_have_count(1)
    await expect(home.locator(".app-nav-link[data-place='send-notice']")).to_have_count(0)  # Rita may not send
    await home.tap(".app-nav-link[data-place='notices']")
    await home.wait_for_url("**/notify/inbox")
    notice = home.locator(".notice")
    await expect(notice.locator(".notice-title")).to_have_text("Code red")
    await expect(notice).to_have_attribute("data-state", "read")
    await assert_no_english(home, data=WRITTEN)
    await assert_fits_the_screen(home)
    await home.screenshot(path=str(screenshots / "notify-inbox-phone-zh.png"), full_page=True)
    await home.tap(".notice button.confirm")
    await expect(notice.locator(".confirmed-at")).to_contain_text("你已于")
    await expect(sender.locator("[data-count='confirmed']")).to_have_text("1")

    await home.goto("/home")
    await expect(home.locator("[data-section='notices'] .home-item")).to_have_count(0)
    await expect(home.locator("[data-section='notices'] .empty")).to_be_visible()
    assert sender_errors == [] and home_errors == []


async def test_an_attachment_cut_off_resumes_after_a_reload_and_the_same_file_picked_twice_is_two(
    browser, client, db, org, server_port, tmp_path  # noqa: F811
):
    """The platform's one tus client (/static/files.js), as on the groups page: a reload loses no bytes sent."""
    base_url = f"http://127.0.0.1:{server_port}"
    plan = tmp_path / "floor plan.pdf"
    plan.write_bytes(b"%PDF" + bytes(range(256)) * 10_000)  # 2.4 MiB: three chunks
    sender, errors = await open_signed_in(browser, base_url, org.admin, "/notify")

    async def cut_off(route):
        if route.request.method == "PATCH" and route.request.headers.get("upload-offset") != "0":
            await route.abort()
        else:
            await route.continue_()

    await sender.route("**/api/v1/uploads/*", cut_off)
    await sender.set_input_files("#attachment-input", str(plan))
    row = sender.locator("#files .file-row")
    await expect(row).to_have_attribute("data-state", "failed")
    await expect(row.locator(".percent")).to_have_text("The upload was interrupted; pick the file again to resume.")
    await sender.unroute("**/api/v1/uploads/*")
    await sender.reload()
    await expect(sender.locator("body[data-live='true']")).to_have_count(1)

    sent: list[tuple[str, str | None]] = []
    sender.on("request", lambda r: sent.append((r.method, r.headers.get("upload-offset"))) if "upload" in r.url else None)
    await sender.set_input_files("#attachment-input", str(plan))
    await expect(row).to_have_attribute("data-state", "done")
    assert sent[0][0] == "HEAD" and ("PATCH", "1048576") in sent and not any(method == "POST" for method, _ in sent)

    await sender.set_input_files("#attachment-input", [str(plan), str(plan)])
    await expect(row).to_have_count(3)
    await expect(row.and_(sender.locator("[data-state='done']"))).to_have_count(3)
    await sender.context.close()
    assert errors == []
