"""The group page as people use it, in headless Chromium: two people (two browser contexts) reply, react, edit,
recall, @mention, search, look at who read what, announce, keep drafts, see images, forward, record voice
messages and resume an upload after a reload."""
from __future__ import annotations

import datetime as dt
import io
import re

import aiohttp
import pytest
from PIL import Image
from playwright.async_api import async_playwright, expect
from sqlalchemy import update

from server.groups.models import GroupMessage
from tests import services
from tests.server.groups.conftest import ward_group
from tests.web.conftest import (  # noqa: F401  (the page-test fixtures)
    CHROMIUM_ARGS,
    assert_fits_the_screen,
    assert_no_english,
    backend,
    base_url,
    live_server,
    open_signed_in,
    screenshots,
)

pytestmark = pytest.mark.browser

FAKE_MICROPHONE = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture
async def browser():
    """Chromium with a fake microphone that needs no permission prompt (voice messages)."""
    executable = services.require_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS + FAKE_MICROPHONE)
        yield browser
        await browser.close()


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1000, 500), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


async def message(page, text: str):
    """The message whose text is ``text``."""
    return page.locator(".message", has=page.locator(".message-body", has_text=re.compile(f"^{re.escape(text)}$")))


async def send(page, text: str):
    await page.fill("#message-body", text)
    await page.click("#send")


async def test_two_people_use_the_group_chat(browser, base_url, db, settings, tmp_path, screenshots):  # noqa: F811
    async with aiohttp.ClientSession() as http:
        ward = await ward_group(db, http, base_url)
        alice, bob, api = ward.alice, ward.bob, ward.api
        night = await (await http.post(api, json={"name": "Night shift", "member_ids": [bob.id]}, headers=alice.headers)).json()
        bob_page, bob_errors = await open_signed_in(browser, base_url, bob, "/groups", org=ward.org_id)
        alice_page, alice_errors = await open_signed_in(browser, base_url, alice, "/groups", org=ward.org_id)
        ward_item = lambda page: page.locator(f".group-item[data-group-id='{ward.group_id}']")  # noqa: E731
        night_item = lambda page: page.locator(f".group-item[data-group-id='{night['id']}']")  # noqa: E731

        # Unread counts per group, live; opening the group reads them.
        await ward_item(alice_page).click()
        await send(alice_page, "Good morning")
        await expect(ward_item(bob_page).locator(".unread-badge")).to_have_text("1")
        await expect(night_item(bob_page).locator(".unread-badge")).to_have_count(0)
        await ward_item(bob_page).click()
        await expect(bob_page.locator(".message-body")).to_have_text(["Good morning"])
        await expect(ward_item(bob_page).locator(".unread-badge")).to_have_count(0)

        # Reply (quoting), reactions both ways, an edit everyone sees.
        await (await message(bob_page, "Good morning")).locator(".reply").click()
        await expect(bob_page.locator("#composer-context-text")).to_have_text("Replying to Alice: Good morning")
        await send(bob_page, "Morning!")
        morning = await message(alice_page, "Morning!")
        await expect(morning.locator(".quote")).to_have_text("Good morning")
        await morning.locator(".reaction-add").click()
        await morning.locator(".reaction-choice", has_text="👍").click()
        bob_morning = await message(bob_page, "Morning!")
        await expect(bob_morning.locator(".reaction")).to_have_text("👍 1")
        await bob_morning.locator(".reaction").click()
        await expect(morning.locator(".reaction")).to_have_text("👍 2")
        await expect(bob_morning.locator(".reaction.mine")).to_have_count(1)
        await (await message(alice_page, "Good morning")).locator(".edit").click()
        await send(alice_page, "Good morning, all")
        edited = await message(bob_page, "Good morning, all")
        await expect(edited.locator(".edited")).to_have_text("edited")

        # @mention with autocomplete: Alice (an admin) is offered @all too; Bob is refused @all in words.
        await alice_page.fill("#message-body", "")
        await alice_page.type("#message-body", "rota for @b")
        await expect(alice_page.locator(".mention-choice")).to_have_text(["Bob"])
        await alice_page.keyboard.press("Enter")
        await expect(alice_page.locator("#message-body")).to_have_value("rota for @Bob ")
        await alice_page.type("#message-body", "is out")
        await alice_page.click("#send")
        await expect((await message(bob_page, "rota for @Bob is out"))).to_have_count(1)
        history = await (await http.get(f"{api}/{ward.group_id}/messages", headers=bob.headers)).json()
        assert history["messages"][-1]["mentions"] == [bob.id]
        await alice_page.type("#message-body", "@a")
        await expect(alice_page.locator(".mention-choice").first).to_have_text("@all (everyone in the group)")
        await alice_page.fill("#message-body", "")
        await bob_page.type("#message-body", "@a")
        await expect(bob_page.locator(".mention-choice")).to_have_text(["Alice"])  # no @all for a member
        await send(bob_page, "@all lunch?")
        await expect(bob_page.locator("#composer-error")).to_have_text("only group admins can mention @all")
        await expect(bob_page.locator("#message-body")).to_have_value("@all lunch?")  # nothing typed is lost
        await bob_page.fill("#message-body", "")

        # Recall within the window; outside it, the server's refusal is shown.
        await send(alice_page, "wrong group, sorry")
        await (await message(alice_page, "wrong group, sorry")).locator(".recall").click()
        await expect(bob_page.locator(".message.recalled .message-body")).to_have_text(["This message was recalled."])
        async with db.transaction(org_id=ward.org_id) as tx:
            old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=settings.group_recall_window_s + 5)
            await tx.session.execute(update(GroupMessage).where(GroupMessage.body == "Morning!").values(created_at=old))
        await bob_morning.locator(".recall").click()
        await expect(bob_page.locator("#composer-error")).to_have_text(
            f"a message can be recalled only within {settings.group_recall_window_s} seconds of sending"
        )
        async with db.transaction(org_id=ward.org_id) as tx:
            old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=settings.group_edit_window_s + 5)
            await tx.session.execute(update(GroupMessage).where(GroupMessage.body == "Good morning, all").values(created_at=old))
        await (await message(alice_page, "Good morning, all")).locator(".edit").click()
        await send(alice_page, "Good morning, everyone")
        await expect(alice_page.locator("#composer-error")).to_have_text(
            f"a message can be edited only within {settings.group_edit_window_s} seconds of sending"
        )
        await alice_page.click("#composer-context-cancel")
        await expect(await message(bob_page, "Good morning, all")).to_have_count(1)

        # Search in the group's history, the words marked.
        await alice_page.click("#search-open")
        await alice_page.fill("#search-q", "rota")
        await alice_page.press("#search-q", "Enter")
        await expect(alice_page.locator(".search-hit mark")).to_have_text(["rota"])
        await expect(alice_page.locator(".search-hit .hit-body")).to_have_text(["rota for @Bob is out"])
        await alice_page.click(".search-hit")
        await expect(alice_page.locator(".message.found .message-body")).to_have_text("rota for @Bob is out")
        await alice_page.click("#search-close")

        # Who read Alice's message.
        read_by = (await message(alice_page, "rota for @Bob is out")).locator(".read-state")
        for _ in range(20):
            await read_by.click()
            if await alice_page.locator("#readers-counts").text_content() == "1 read · 0 not read yet":
                break
            await alice_page.wait_for_timeout(200)
        await expect(alice_page.locator("#read-list li")).to_have_text(["Bob"])
        await alice_page.click("#readers-close")

        # An announcement (group admins): pinned on top for Bob.
        await alice_page.fill("#message-body", "Fire drill at 3")
        await alice_page.click("#announce")
        await expect(bob_page.locator("#announcement-body")).to_have_text("Fire drill at 3")
        await expect(bob_page.locator("#announce")).to_be_hidden()

        # A draft per group survives switching groups and a reload.
        await bob_page.fill("#message-body", "half a thought")
        await night_item(bob_page).click()
        await expect(bob_page.locator("#message-body")).to_have_value("")
        await bob_page.reload()
        await expect(bob_page.locator("body[data-live='true']")).to_have_count(1)
        await ward_item(bob_page).click()
        await expect(bob_page.locator("#message-body")).to_have_value("half a thought")

        # An image shows inline as its thumbnail; Bob forwards it to the night shift.
        await alice_page.set_input_files("#file-input", files=[{"name": "ward.png", "mimeType": "image/png", "buffer": png_bytes()}])
        thumb = bob_page.locator(".message[data-kind='image'] img.thumbnail")
        await expect(thumb).to_have_count(1)
        await expect(thumb).to_have_js_property("naturalWidth", 320)
        await bob_page.locator(".message[data-kind='image'] .forward").click()
        await bob_page.locator(".forward-target", has_text="Night shift").click()
        await expect(bob_page.locator("#chat-status")).to_have_text("Forwarded to Night shift.")
        await expect(night_item(alice_page).locator(".unread-badge")).to_have_text("1")
        await night_item(alice_page).click()
        forwarded = alice_page.locator(".message[data-kind='image']")
        await expect(forwarded.locator(".forwarded")).to_have_text("Forwarded")
        await expect(forwarded.locator("img.thumbnail")).to_have_js_property("naturalWidth", 320)

        # A voice message recorded in the page (Chromium's fake microphone).
        await alice_page.click("#record")
        await expect(alice_page.locator("#record-state")).to_be_visible()
        await alice_page.wait_for_timeout(1500)
        await alice_page.click("#record")
        await night_item(bob_page).click()
        voice = bob_page.locator(".message[data-kind='voice']")
        await expect(voice.locator(".voice-length")).to_have_text(re.compile(r"^Voice message, [12] s$"))
        await expect(voice.locator("audio")).to_have_attribute("src", re.compile("^blob:"))

        # An upload cut off after its first chunk resumes after a reload from where the server got to.
        big = tmp_path / "handover.pdf"
        big.write_bytes(b"%PDF" + bytes(range(256)) * 10_000)  # 2.4 MiB: three chunks

        async def cut_off(route):
            if route.request.method == "PATCH" and route.request.headers.get("upload-offset") != "0":
                await route.abort()
            else:
                await route.continue_()

        await alice_page.route("**/api/v1/uploads/*", cut_off)
        await alice_page.set_input_files("#file-input", str(big))
        await expect(alice_page.locator("#composer-error")).to_have_text("The upload was interrupted; pick the file again to resume.")
        await alice_page.unroute("**/api/v1/uploads/*")
        await alice_page.reload()
        await expect(alice_page.locator("body[data-live='true']")).to_have_count(1)
        await night_item(alice_page).click()
        await expect(alice_page.locator("#resume-note")).to_have_text("Not finished: handover.pdf. Pick the file again to resume.")
        sent: list[tuple[str, str | None]] = []
        alice_page.on("request", lambda r: sent.append((r.method, r.headers.get("upload-offset"))) if "/uploads" in r.url else None)
        await alice_page.set_input_files("#file-input", str(big))
        await expect(bob_page.locator(".file-link")).to_have_text(re.compile(r"^handover\.pdf \(2\.4 MB\)$"))
        assert sent[0][0] == "HEAD" and ("PATCH", "1048576") in sent and not any(method == "POST" for method, _ in sent)
        await expect(alice_page.locator("#resume-note")).to_be_hidden()

        await alice_page.screenshot(path=str(screenshots / "groups-chat.png"), full_page=True)
    assert alice_errors == [] and bob_errors == []


async def test_the_group_chat_on_a_phone(browser, base_url, db, screenshots):  # noqa: F811
    async with aiohttp.ClientSession() as http:
        ward = await ward_group(db, http, base_url)
        alice, api = ward.alice, ward.api
        phone, errors = await open_signed_in(browser, base_url, ward.bob, "/groups", phone=True, org=ward.org_id)
        await http.post(f"{api}/{ward.group_id}/messages", json={"body": "Bed 4 needs a hand " + "x" * 60}, headers=alice.headers)
        await expect(phone.locator(".unread-badge")).to_have_text("1")
        await expect(phone.locator(".chat")).to_be_hidden()
        await assert_fits_the_screen(phone)

        await phone.tap(".group-item")
        await expect(phone.locator(".group-nav")).to_be_hidden()
        await expect(phone.locator(".message-body")).to_have_count(1)
        first = phone.locator(".message").first
        await first.locator(".reply").tap()
        await phone.locator("#message-body").type("on my way @a")
        await phone.locator(".mention-choice", has_text="Alice").tap()
        await phone.tap("#send")
        await expect(phone.locator(".message .quote")).to_have_count(1)
        await first.locator(".reaction-add").tap()
        await first.locator(".reaction-choice", has_text="👍").tap()
        await expect(first.locator(".reaction.mine")).to_have_text("👍 1")
        history = await (await http.get(f"{api}/{ward.group_id}/messages", headers=alice.headers)).json()
        assert history["messages"][-1]["mentions"] == [alice.id] and history["messages"][-1]["reply_to_seq"] == 1
        await phone.set_input_files("#file-input", files=[{"name": "wound.png", "mimeType": "image/png", "buffer": png_bytes()}])
        await expect(phone.locator("img.thumbnail")).to_have_js_property("naturalWidth", 320)
        await assert_fits_the_screen(phone)
        await phone.screenshot(path=str(screenshots / "groups-chat-phone.png"), full_page=True)

        await phone.tap("#back")
        await expect(phone.locator(".group-nav")).to_be_visible()
        await expect(phone.locator(".chat")).to_be_hidden()
    assert errors == []


async def test_the_group_chat_in_chinese_has_no_english_left(browser, base_url, db):  # noqa: F811
    async with aiohttp.ClientSession() as http:
        ward = await ward_group(db, http, base_url)
        alice, group = ward.alice, f"{ward.api}/{ward.group_id}"
        first = await (await http.post(f"{group}/messages", json={"body": "交班了"}, headers=alice.headers)).json()
        await http.post(f"{group}/messages", json={"body": "谢谢", "reply_to_seq": first["seq"]}, headers=alice.headers)
        await http.patch(f"{group}/messages/{first['seq']}", json={"body": "交班了！"}, headers=alice.headers)
        await http.post(f"{group}/announcements", json={"body": "明天消防演习"}, headers=alice.headers)
        await http.put(f"{group}/messages/{first['seq']}/reactions", json={"emoji": "👍"}, headers=alice.headers)
        recalled = await (await http.post(f"{group}/messages", json={"body": "发错了"}, headers=alice.headers)).json()
        await http.post(f"{group}/messages/{recalled['seq']}/recall", headers=alice.headers)
        # Where the home page's link leads: the group open at once.
        page, errors = await open_signed_in(browser, base_url, ward.bob, f"/groups?group={ward.group_id}", language="zh-CN", live=False, org=ward.org_id)
        await expect(page.locator("body[data-live='true']")).to_have_count(1, timeout=15_000)  # the group loads first
        await expect(page.locator("#announcement-body")).to_have_text("明天消防演习")
        await expect(page.locator(".message.recalled .message-body")).to_have_text(["此消息已撤回。"])
        await page.locator(".message").first.locator(".reaction-add").click()
        await page.click("#search-open")
        await page.fill("#search-q", "交班")
        await page.press("#search-q", "Enter")
        await expect(page.locator(".search-hit mark")).to_have_text(["交班"])
        await page.type("#message-body", "@all 午饭？")
        await page.click("#send")
        await expect(page.locator("#composer-error")).to_have_text("只有群组管理员可以 @所有人")
        await page.locator(".message").first.locator(".reply").click()
        written = ".message-body, .sender, .quote, .group-name, #group-title, #announcement-body, #composer-context-text, .hit-body, #me-name, .org-name"
        await assert_no_english(page, data=written)
    assert errors == []
