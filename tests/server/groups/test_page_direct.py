"""Direct chats on the pages, in headless Chromium: "Send message" from the directory and from a group's member list,
the chat under the other person's name, forwarding to a person; in a group of 1,200 on a phone in Chinese, members
beyond the first 1,000 are suggested for @mentions and found in the member list by pinyin and initials."""
from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import expect

from server.orgs.models import Membership
from tests.server.groups.conftest import add_bulk_members, join_org, signed_in, ward_group
from tests.web.conftest import (  # noqa: F401  (the page-test fixtures)
    assert_fits_the_screen,
    assert_no_english,
    backend,
    base_url,
    browser,
    live_server,
    open_signed_in,
    screenshots,
)

pytestmark = pytest.mark.browser


async def test_direct_chats_from_the_directory_and_a_member_list_and_forwarding_to_a_person(browser, base_url, db, screenshots):  # noqa: F811
    async with aiohttp.ClientSession() as http:
        ward = await ward_group(db, http, base_url)
        alice, bob = ward.alice, ward.bob
        carol = await signed_in(db, "Carol")
        await join_org(db, ward.org_id, carol.user)
        resp = await http.post(f"{ward.api}/{ward.group_id}/members", json={"user_ids": [carol.id]}, headers=alice.headers)
        assert resp.status == 200, await resp.text()
        await http.post(f"{ward.api}/{ward.group_id}/messages", json={"body": "Bed 4 is free"}, headers=alice.headers)
        bob_page, bob_errors = await open_signed_in(browser, base_url, bob, "/groups", org=ward.org_id)

        # Alice: the directory's "Send message" opens her chat with Bob, under his name.
        alice_page, alice_errors = await open_signed_in(browser, base_url, alice, "/directory", live=False, org=ward.org_id)
        await expect(alice_page.locator(".member", has_text="Alice").locator(".send-message")).to_have_count(0)  # not to herself
        await alice_page.locator(".member", has_text="Bob").locator(".send-message").click()
        await alice_page.wait_for_url("**/groups?org=*&group=*")
        await expect(alice_page.locator("#group-title")).to_have_text("Bob")
        await alice_page.fill("#message-body", "Are you on shift tonight?")
        await alice_page.click("#send")

        # Bob gets it at once, listed under Alice's name, and opens it.
        from_alice = bob_page.locator(".group-item", has_text="Alice")
        await expect(from_alice.locator(".unread-badge")).to_have_text("1")
        await from_alice.click()
        await expect(bob_page.locator("#group-title")).to_have_text("Alice")
        await expect(bob_page.locator(".message-body")).to_have_text(["Are you on shift tonight?"])

        # Bob: the ward's member list, searched, and "Send message" to Carol.
        await bob_page.locator(f".group-item[data-group-id='{ward.group_id}']").click()
        await bob_page.click("#members-open")
        await expect(bob_page.locator("#members-count")).to_have_text("3 members")
        await expect(bob_page.locator(".member-row .member-name")).to_have_text(["Alice", "Bob", "Carol"])
        await expect(bob_page.locator(".member-row", has_text="Bob").locator(".send-message")).to_have_count(0)
        await bob_page.fill("#members-search", "car")
        await expect(bob_page.locator(".member-row .member-name")).to_have_text(["Carol"])
        await bob_page.locator(".member-row", has_text="Carol").locator(".send-message").click()
        await expect(bob_page.locator("#group-title")).to_have_text("Carol")
        await expect(bob_page.locator("#members")).to_be_hidden()

        # Forwarding offers groups and direct chats, and people found by name.
        await bob_page.locator(f".group-item[data-group-id='{ward.group_id}']").click()
        await bob_page.locator(".message", has_text="Bed 4 is free").locator(".forward").click()
        await expect(bob_page.locator(".forward-target .group-name")).to_have_text(["Alice", "Carol"])  # most recently active first
        await bob_page.fill("#forward-search", "ali")
        await bob_page.locator(".forward-person", has_text="Alice").click()
        await expect(bob_page.locator("#chat-status")).to_have_text("Forwarded to Alice.")
        forwarded = alice_page.locator(".message", has_text="Bed 4 is free")
        await expect(forwarded.locator(".forwarded")).to_have_text("Forwarded")
        await alice_page.screenshot(path=str(screenshots / "groups-direct.png"), full_page=True)
        await bob_page.context.close()
        await alice_page.context.close()
    assert alice_errors == [] and bob_errors == []


async def test_on_a_phone_in_chinese_a_big_groups_members_are_found_by_pinyin(browser, base_url, db, screenshots):  # noqa: F811
    async with aiohttp.ClientSession() as http:
        ward = await ward_group(db, http, base_url)
        ids = await add_bulk_members(db, ward.org_id, ward.group_id, 1_200, prefix="staff")
        async with db.transaction(org_id=ward.org_id) as tx:  # after the first 1,000 members the page holds
            tx.session.add(Membership(org_id=ward.org_id, user_id=max(ids), role="member", display_name="张伟"))
        phone, errors = await open_signed_in(browser, base_url, ward.bob, "/groups", phone=True, language="zh-CN", org=ward.org_id)
        await phone.locator(f".group-item[data-group-id='{ward.group_id}']").tap()

        await phone.locator("#message-body").type("请 @zw")
        await phone.locator(".mention-choice", has_text="张伟").tap()
        await expect(phone.locator("#message-body")).to_have_value("请 @张伟 ")
        await phone.locator("#send").tap()
        await expect(phone.locator(".message-body")).to_have_text(["请 @张伟"])
        history = await (await http.get(f"{ward.api}/{ward.group_id}/messages", headers=ward.alice.headers)).json()
        assert history["messages"][-1]["mentions"] == [max(ids)]

        await phone.locator("#members-open").tap()
        await expect(phone.locator("#members-count")).to_have_text("1202 位成员")
        await phone.locator("#members-search").fill("zhangw")
        await expect(phone.locator(".member-row .member-name")).to_have_text(["张伟"])
        await assert_fits_the_screen(phone)
        await assert_no_english(phone, data=".member-name, .group-name, #me-name, #org-name, .message-meta")
        await phone.locator(".member-row .send-message").tap()
        await expect(phone.locator("#group-title")).to_have_text("张伟")
        await assert_fits_the_screen(phone)
        await phone.screenshot(path=str(screenshots / "groups-direct-phone-zh.png"), full_page=True)
        await phone.context.close()
    assert errors == []
