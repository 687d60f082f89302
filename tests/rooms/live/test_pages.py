"""The livestream pages in Chromium with a fake camera and microphone: the host goes live from the studio page (WHIP
from the browser, H.264), a member's watch page plays it over WHEP (the video has a size), on a desktop in English
and on a 375x667 phone in Chinese with no English left; ending the stream is said on the watch page, which then plays
the replay (Chromium's H.264 was segmented into HLS meanwhile). A viewer on a phone chats, likes and raises a hand, and the
studio sees each at once and removes the message from every page. Pages run on
the embedded database only, as in tests/web (WHEP itself is tested on both in test_whep.py)."""
from __future__ import annotations

import re

import aiohttp
from playwright.async_api import expect

from rooms.live.keys import STREAM_INGEST
from tests.rooms.live.test_streams_api import guest_by_link
from tests.rooms.live.whip_client import publish
from tests.rooms.meetings.test_page import browser  # noqa: F401  (Chromium with fake media)
from tests.server.groups.conftest import join_org, signed_in
from tests.factories import make_org
from tests.web.conftest import assert_fits_the_screen, assert_no_english, backend, base_url, live_server, open_signed_in  # noqa: F401

SLOW = 20_000  # ms: media on a loaded machine


async def class_stream(db, base_url: str):  # noqa: F811
    """A teacher's group with one member and a scheduled stream from it: (teacher, member, stream)."""
    teacher, member = await signed_in(db, "Tess Teacher"), await signed_in(db, "Mo Member")
    org = await make_org(db, teacher.user)
    await join_org(db, org.id, member.user)
    async with aiohttp.ClientSession(base_url, headers=teacher.headers) as http:
        async with http.post(f"/api/v1/orgs/{org.id}/groups", json={"name": "3B", "member_ids": [member.user.id]}) as resp:
            group = await resp.json()
        body = {"group_id": group["id"], "title": "Maths 3B", "scheduled_at": "2030-01-01T09:00:00Z"}
        async with http.post(f"/api/v1/orgs/{org.id}/streams", json=body) as resp:
            assert resp.status == 201, await resp.text()
            return teacher, member, await resp.json()


async def playing_width(page) -> int:
    await expect(page.locator("#player-box")).to_be_visible(timeout=SLOW)
    await page.wait_for_function("() => document.getElementById('player').videoWidth > 0", timeout=SLOW)
    return await page.evaluate("document.getElementById('player').videoWidth")


async def test_the_host_goes_live_from_the_studio_and_members_watch_on_desktop_and_phone(app, db, browser, base_url):  # noqa: F811
    teacher, member, stream = await class_stream(db, base_url)
    studio, studio_problems = await open_signed_in(browser, base_url, teacher, f"/live/{stream['id']}/studio", live=False)
    watch, watch_problems = await open_signed_in(browser, base_url, member, f"/live/{stream['id']}", live=False)
    phone, phone_problems = await open_signed_in(browser, base_url, member, f"/live/{stream['id']}", phone=True, language="zh-CN", live=False)
    studio.on("dialog", lambda dialog: dialog.accept())

    await expect(watch.locator("#stream-state")).to_have_text("Scheduled")
    await expect(watch.locator("#stream-notice")).to_contain_text("not started")
    await expect(watch.locator("#studio-link")).to_be_hidden()  # a member is not told where to publish
    await expect(studio.locator("#whip-url")).to_have_value(stream["whip_url"])  # for OBS
    await studio.locator("#new-key").click()
    await expect(studio.locator("#stream-key")).to_contain_text("mlk_")  # shown once, for OBS
    await expect(studio.locator("#new-link")).to_be_disabled()  # outsiders are not allowed yet
    await studio.locator("#allow-guests").check()
    await studio.locator("#new-link").click()
    await expect(studio.locator("#public-url")).to_have_value(re.compile(r"/join#"))
    await expect(studio.locator("#public-qr")).to_have_attribute("src", re.compile("^data:image/svg"))
    await studio.locator("#withdraw-link").click()
    await expect(studio.locator("#public-link")).to_be_hidden()
    answers = []
    studio.on("response", lambda response: answers.append(response) if response.request.method == "POST" and "/whip/" in response.url else None)

    await studio.locator("#go-live").click()
    await expect(studio.locator("#sending")).to_be_visible(timeout=SLOW)
    await expect(studio.locator("#stream-state")).to_have_text("Live")
    (answer,) = answers
    assert answer.status == 201 and "H264/90000" in (await answer.text()).split("m=video", 1)[1]  # the page offered H.264 first
    assert len(app[STREAM_INGEST].publishers) == 1

    assert await playing_width(watch) > 0  # the watch page saw the stream go live and plays it over WHEP
    assert await playing_width(phone) > 0
    await expect(phone.locator("#stream-state")).to_have_text("直播中")
    await assert_no_english(phone, data="#stream-title, #shell .org-name, #shell .person-name")
    await assert_fits_the_screen(phone)
    assert len(app[STREAM_INGEST].viewers) == 2

    await studio.locator("#end").click()  # Chromium's H.264 was segmented meanwhile: the pages play its replay
    await expect(watch.locator("#stream-notice")).to_have_text("This livestream has ended. Watch its replay.", timeout=SLOW)
    await expect(watch.locator("#player")).to_have_attribute("data-transport", "hls-replay")
    await expect(phone.locator("#stream-notice")).to_have_text("此直播已结束。可观看回放。", timeout=SLOW)
    assert not app[STREAM_INGEST].viewers and not app[STREAM_INGEST].publishers

    studio_phone, studio_phone_problems = await open_signed_in(browser, base_url, teacher, f"/live/{stream['id']}/studio", phone=True,
                                                               language="zh-CN", live=False)
    await expect(studio_phone.locator("#stream-state")).to_have_text("已结束")
    await assert_no_english(studio_phone, data="#stream-title, #shell .org-name, #shell .person-name", allowed=("OBS", "WHIP", "CSV", "Excel"))
    await assert_fits_the_screen(studio_phone)
    member_studio, member_problems = await open_signed_in(browser, base_url, member, f"/live/{stream['id']}/studio", live=False)
    await expect(member_studio.locator("#page-error")).to_contain_text("Only the stream's host")
    for problems in (studio_problems, watch_problems, phone_problems, studio_phone_problems, member_problems):
        assert problems == []


async def test_a_guest_watches_by_the_public_link_and_is_told_when_it_is_withdrawn(app, db, browser, base_url):  # noqa: F811
    teacher = await signed_in(db, "Tess Teacher")
    org = await make_org(db, teacher.user)
    async with aiohttp.ClientSession(base_url, headers=teacher.headers) as http:
        group = await (await http.post(f"/api/v1/orgs/{org.id}/groups", json={"name": "3B", "member_ids": []})).json()
        body = {"group_id": group["id"], "title": "Open day", "allow_guests": True}
        stream = await (await http.post(f"/api/v1/orgs/{org.id}/streams", json=body)).json()
        link = await (await http.post(f"/api/v1/orgs/{org.id}/streams/{stream['id']}/public-links", json={})).json()
    async with aiohttp.ClientSession(base_url) as http:
        guest = await guest_by_link(http, link)
        publisher, _, _ = await publish(http, stream, stream["stream_key"])
    try:
        page, problems = await open_signed_in(browser, base_url, Guest(guest), f"/live/{stream['id']}", phone=True, live=False)
        assert await playing_width(page) == 640  # the aiortc publisher's camera
        await expect(page.locator("#studio-link")).to_be_hidden()
        async with aiohttp.ClientSession(base_url, headers=teacher.headers) as http:
            async with http.delete(f"/api/v1/orgs/{org.id}/streams/{stream['id']}/public-links/{link['public_link_id']}") as resp:
                assert resp.status == 204
        await expect(page.locator("#stream-notice")).to_have_text("You can no longer watch this stream.", timeout=SLOW)
        await expect(page.locator("#player-box")).to_be_hidden()
        assert not app[STREAM_INGEST].viewers
        assert problems == []
    finally:
        await publisher.close()


class Guest:
    """What open_signed_in needs of a person: the headers of their session."""

    def __init__(self, headers: dict) -> None:
        self.headers = headers


async def test_on_a_phone_in_chinese_a_viewer_chats_likes_and_raises_a_hand_and_the_studio_sees_it_and_removes_the_message(
        app, db, browser, base_url):  # noqa: F811
    teacher, member, stream = await class_stream(db, base_url)
    async with aiohttp.ClientSession(base_url, headers=teacher.headers) as http:
        async with http.post(f"/api/v1/orgs/{stream['org_id']}/streams/{stream['id']}/start") as resp:
            assert resp.status == 200
    studio, studio_problems = await open_signed_in(browser, base_url, teacher, f"/live/{stream['id']}/studio")
    phone, phone_problems = await open_signed_in(browser, base_url, member, f"/live/{stream['id']}", phone=True, language="zh-CN")
    await expect(phone.locator("#room")).to_be_visible()
    await expect(studio.locator("#viewers-count")).to_have_text("Watching: 1")  # the phone's page reported it is there

    await phone.locator("#chat-text").fill("老师好，我听得见")
    await phone.locator("#chat-form button[type=submit]").click()
    await expect(phone.locator("#chat-list .chat-text")).to_have_text(["老师好，我听得见"])
    await expect(studio.locator("#chat-list .chat-text")).to_have_text(["老师好，我听得见"])
    await expect(studio.locator("#chat-list .chat-name")).to_have_text(["Mo Member"])
    await phone.locator("#like").click()
    await expect(phone.locator("#likes-count")).to_have_text("1 个赞")
    await expect(studio.locator("#likes-count")).to_have_text("Likes: 1")
    await phone.locator("#hand").click()
    await expect(phone.locator("#hand")).to_have_text("放下手")
    await expect(studio.locator("#hand-queue li span")).to_have_text(["1. Mo Member"])
    await assert_no_english(phone, data="#stream-title, #shell .org-name, #shell .person-name, .chat-name")
    await assert_fits_the_screen(phone)

    await studio.locator("#chat-list .remove-message").click()
    await expect(phone.locator("#chat-list .chat-message")).to_have_count(0)
    await expect(studio.locator("#chat-list .chat-message")).to_have_count(0)
    await studio.locator("#attendance-refresh").click()
    await expect(studio.locator("#attendance-rows td").first).to_have_text("Mo Member")
    await expect(studio.locator("#absent")).to_have_text("Every member of the group attended.")
    for problems in (studio_problems, phone_problems):
        assert problems == []
