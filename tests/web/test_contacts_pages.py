"""The external contacts pages in Chromium: a staff member's link and QR code, the outside person's sign-up, phones, Chinese."""
from __future__ import annotations

from playwright.async_api import expect

from tests.server.contacts.conftest import Staff, make_link, outsider
from tests.server.orgs.conftest import join, new_org, ok
from tests.web.conftest import assert_fits_the_screen, assert_no_english, new_page, open_signed_in


async def staff_org(db) -> Staff:
    made = await new_org(db, "Olivia Owner")
    return Staff(
        made.id, made.owner, await join(db, made.id, "member", "Nurse Li"), await join(db, made.id, "member", "Nurse Wang"),
        await join(db, made.id, "admin", "Admin Zhao"),
    )


def link_path(url: str) -> str:
    """The link's path on the test server (the link itself names MUSTER_PUBLIC_URL)."""
    return "/c/" + url.split("/c/", 1)[1]


async def stub_the_group_page(page) -> None:
    """The chat itself is the group page's (tested with it); here only that the person is sent there."""
    await page.route("**/groups?**", lambda route: route.fulfill(body="<!doctype html><title>chat</title>", content_type="text/html"))


async def test_a_staff_member_shows_a_qr_code_and_the_person_who_signs_up_by_it_appears(browser, base_url, db):
    org = await staff_org(db)
    staff, problems = await open_signed_in(browser, base_url, org.nurse, "/contacts")
    await expect(staff.locator("#my-contacts[data-loaded='true']")).to_have_count(1)
    await expect(staff.locator("#contacts-empty")).to_be_visible()
    await expect(staff.locator("#all-contacts")).to_be_hidden()  # the nurse is no admin
    await expect(staff.locator(".app-nav-link[href='/contacts'][aria-current='page']")).to_have_count(1)
    await staff.select_option("#link-uses", "1")
    await staff.click("#link-create")
    await expect(staff.locator("#link-qr[src^='data:image/svg+xml;base64,']")).to_have_count(1)
    assert (await staff.locator("#link-qr").evaluate("img => img.naturalWidth")) > 0
    url = await staff.locator("#link-url").input_value()
    assert "/c/" in url and await staff.locator("#link-png").get_attribute("href") is not None

    parent, parent_problems = await new_page(browser, base_url)
    await stub_the_group_page(parent)
    await parent.goto(link_path(url))
    await expect(parent.locator("#invite-from")).to_contain_text("Nurse Li")
    await parent.fill("#sign-up-name", "Mother of Xiaoming")
    await parent.fill("#sign-up-email", "mum.page@example.org")
    await parent.fill("#sign-up-password", "long enough pass")
    await parent.click("#sign-up-submit")
    await parent.wait_for_url(f"**/groups?org={org.id}&group=*")
    assert await parent.evaluate("localStorage.getItem('muster.token')")

    item = staff.locator("#contact-list .contact", has_text="Mother of Xiaoming")
    await expect(item).to_have_count(1)  # live: the contact.added event
    href = await item.locator("a.contact-open").get_attribute("href")
    assert href.startswith(f"/groups?org={org.id}&group=")
    # The same link a second time is used up, and the page says so.
    again, again_problems = await new_page(browser, base_url)
    await again.goto(link_path(url))
    await expect(again.locator("#link-error")).to_contain_text("used up")
    for p in (staff, parent, again):
        await p.context.close()
    assert problems == parent_problems == again_problems == []


async def test_a_signed_in_person_accepts_and_an_admin_sees_every_contact(browser, base_url, db, client):
    org = await staff_org(db)
    link = await make_link(client, org, org.colleague)
    dad = await outsider(db, "Dad Chen")
    page, problems = await open_signed_in(browser, base_url, dad, f"/c/{link['token']}", live=False)
    await stub_the_group_page(page)
    await page.click("#accept-button")
    await page.wait_for_url(f"**/groups?org={org.id}&group=*")
    await page.context.close()
    admin, admin_problems = await open_signed_in(browser, base_url, org.admin, "/contacts")
    row = admin.locator("#all-list .contact", has_text="Dad Chen")
    await expect(row).to_contain_text("Nurse Wang")
    await expect(admin.locator("#all-count")).to_contain_text("1 external contact")
    await admin.context.close()
    assert problems == admin_problems == []


async def test_an_external_contact_finds_their_chats_on_the_contacts_page(browser, base_url, db, client):
    org = await staff_org(db)
    link = await make_link(client, org, org.nurse)
    dad = await outsider(db, "Dad Chen")
    await ok(await client.post("/api/v1/contact-links/accept", json={"token": link["token"]}, headers=dad.headers))
    page, problems = await open_signed_in(browser, base_url, dad, "/contacts")
    chat = page.locator("#chat-list .contact")
    await expect(chat).to_contain_text("Nurse Li")
    await expect(page.locator("#add-contact")).to_be_hidden()
    await page.context.close()
    assert problems == []


async def test_both_pages_fit_a_phone_and_work_by_touch(browser, base_url, db, client):
    org = await staff_org(db)
    staff, problems = await open_signed_in(browser, base_url, org.nurse, "/contacts", phone=True)
    await staff.tap("#link-create")
    await expect(staff.locator("#link-made")).to_be_visible()
    await assert_fits_the_screen(staff)
    box = await staff.locator("#link-qr").bounding_box()
    assert box["width"] >= 200 and box["x"] >= 0 and box["x"] + box["width"] <= 375
    url = await staff.locator("#link-url").input_value()
    parent, parent_problems = await new_page(browser, base_url, phone=True)
    await stub_the_group_page(parent)
    await parent.goto(link_path(url))
    await expect(parent.locator("#sign-up-form")).to_be_visible()
    await assert_fits_the_screen(parent)
    await parent.tap("#sign-up-name")
    await parent.fill("#sign-up-name", "Grandma Liu")
    await parent.fill("#sign-up-email", "grandma.phone@example.org")
    await parent.fill("#sign-up-password", "long enough pass")
    await parent.tap("#sign-up-submit")
    await parent.wait_for_url("**/groups?**")
    await expect(staff.locator("#contact-list .contact", has_text="Grandma Liu")).to_have_count(1)
    await assert_fits_the_screen(staff)
    for p in (staff, parent):
        await p.context.close()
    assert problems == parent_problems == []


async def test_both_pages_read_entirely_in_chinese(browser, base_url, db, client):
    org = await staff_org(db)
    await make_link(client, org, org.admin)
    admin, problems = await open_signed_in(browser, base_url, org.admin, "/contacts", language="zh-CN")
    await admin.click("#link-create")
    await expect(admin.locator("#link-made")).to_be_visible()
    await expect(admin.locator("#all-contacts[data-loaded='true']")).to_have_count(1)
    await expect(admin.locator("#link-create")).to_have_text("生成链接和二维码")
    await assert_no_english(admin, allowed=("Org of Olivia Owner", "Admin Zhao"), data="#link-url, .org-name")
    url = await admin.locator("#link-url").input_value()
    parent, parent_problems = await new_page(browser, base_url, language="zh-CN")
    await parent.goto(link_path(url))
    await expect(parent.locator("#invite-from")).to_contain_text("想添加你为联系人")
    await assert_no_english(parent, allowed=("Org of Olivia Owner", "Admin Zhao"), data=".language-select")
    await parent.click("#sign-up-submit")
    await expect(parent.locator("#link-error")).to_have_text("请输入姓名、邮箱和密码。")
    for p in (admin, parent):
        await p.context.close()
    assert problems == parent_problems == []
