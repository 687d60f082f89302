"""The group chat page at ``/groups`` in headless Chromium: two people, live messages, unread badges,
the read/unread lists, and an upload with its progress bar that the other downloads."""
from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import expect

from tests.server.groups.conftest import ward_group
from tests.web.conftest import backend, base_url, browser, live_server, open_signed_in, screenshots  # noqa: F401  (the page-test fixtures)

pytestmark = pytest.mark.browser


async def test_two_people_chat_live_with_badges_read_lists_and_an_upload(browser, base_url, db, screenshots):  # noqa: F811
    async with aiohttp.ClientSession() as http:
        ward = await ward_group(db, http, base_url)
        alice, bob, api, group_id = ward.alice, ward.bob, ward.api, ward.group_id
        bob_page, bob_errors = await open_signed_in(browser, base_url, bob, "/groups", org=ward.org_id)
        alice_page, alice_errors = await open_signed_in(browser, base_url, alice, "/groups", org=ward.org_id)
        for text in ("first", "second"):
            await http.post(f"{api}/{group_id}/messages", json={"body": text}, headers=alice.headers)

    badge = bob_page.locator(".group-item .unread-badge")
    await expect(badge).to_have_text("2")
    await bob_page.click(".group-item")
    await expect(bob_page.locator(".message-body")).to_have_text(["first", "second"])
    await expect(badge).to_have_count(0)

    await alice_page.click(".group-item")
    await alice_page.fill("#message-body", "Masks on from Monday")
    await alice_page.click("#send")
    await expect(bob_page.locator(".message-body").last).to_have_text("Masks on from Monday")
    await expect(bob_page.locator(".sender").last).to_have_text("Alice")

    read_by = alice_page.locator(".message").last.locator(".read-state")
    for _ in range(20):  # Bob's page marks it read as it arrives; ask until the pointer moved
        await read_by.click()
        if await alice_page.locator("#readers-counts").text_content() == "1 read · 0 not read yet":
            break
        await alice_page.wait_for_timeout(200)
    await expect(alice_page.locator("#readers-counts")).to_have_text("1 read · 0 not read yet")
    await expect(alice_page.locator("#read-list li")).to_have_text(["Bob"])

    rota = b"%PDF" + b"x" * 300_000
    await alice_page.set_input_files("#file-input", files=[{"name": "rota.pdf", "mimeType": "application/pdf", "buffer": rota}])
    await expect(alice_page.locator("#upload-percent")).to_have_text("100%")
    await expect(bob_page.locator(".file-link")).to_have_text(re.compile(r"^rota\.pdf \(293\.0 KB\)$"))
    async with bob_page.expect_download() as downloading:
        await bob_page.click(".file-link")
    assert Path(await (await downloading.value).path()).read_bytes() == rota
    await alice_page.screenshot(path=str(screenshots / "groups.png"), full_page=True)
    assert alice_errors == [] and bob_errors == []
