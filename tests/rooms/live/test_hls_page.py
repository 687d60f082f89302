"""The watch page over HLS in Chromium (hls.js, vendored): beyond the WebRTC capacity WHEP answers 503 and the page plays
the live HLS of an aiortc WHIP publisher (its video time advances); when the stream ends it plays the replay, which
seeks. Pages run on the embedded database only, as in tests/web (HLS itself is tested on both in test_hls.py)."""
from __future__ import annotations

import aiohttp
from playwright.async_api import expect

from rooms.keys import ROOMS_SETTINGS
from rooms.live.keys import STREAM_INGEST
from tests.rooms.live.test_pages import SLOW, class_stream
from tests.rooms.live.whip_client import publish
from tests.rooms.meetings.test_page import browser  # noqa: F401  (Chromium with fake media)
from tests.web.conftest import assert_fits_the_screen, backend, base_url, live_server, open_signed_in  # noqa: F401

ADVANCES = """async () => {
  const video = document.getElementById('player');
  const start = video.currentTime;
  for (let i = 0; i < 100 && video.currentTime < start + 1; i++) await new Promise((r) => setTimeout(r, 200));
  return [start, video.currentTime];
}"""


async def advances(page) -> None:
    start, now = await page.evaluate(ADVANCES)
    assert now >= start + 1, (start, now)


async def test_beyond_webrtc_capacity_the_page_plays_hls_and_after_the_end_the_replay_which_seeks(app, db, browser, base_url):  # noqa: F811
    teacher, member, stream = await class_stream(db, base_url)
    app[ROOMS_SETTINGS].live_whep_viewers_per_stream = 0  # WebRTC is full: WHEP answers 503
    async with aiohttp.ClientSession(base_url) as http:
        publisher, _, _ = await publish(http, stream, stream["stream_key"])
    try:
        page, problems = await open_signed_in(browser, base_url, member, f"/live/{stream['id']}", phone=True, live=False)
        assert await page.evaluate("MediaSource.isTypeSupported('video/mp4; codecs=\"avc1.42e01f\"')")
        await expect(page.locator("#player")).to_have_attribute("data-transport", "hls-live", timeout=SLOW)
        await expect(page.locator("#player-box")).to_be_visible()
        await page.wait_for_function("() => document.getElementById('player').videoWidth === 640", timeout=SLOW)
        await advances(page)
        assert not app[STREAM_INGEST].viewers  # no WebRTC viewer: it was full
        await assert_fits_the_screen(page)

        async with aiohttp.ClientSession(base_url, headers=teacher.headers) as http:
            async with http.post(f"/api/v1/orgs/{stream['org_id']}/streams/{stream['id']}/end") as resp:
                assert resp.status == 200
        await expect(page.locator("#player")).to_have_attribute("data-transport", "hls-replay", timeout=SLOW)
        await expect(page.locator("#stream-notice")).to_have_text("This livestream has ended. Watch its replay.")
        await page.wait_for_function("() => document.getElementById('player').duration >= 2", timeout=SLOW)
        await advances(page)
        await page.evaluate("document.getElementById('player').currentTime = 0.5")  # back to the beginning: a VOD seeks
        await page.wait_for_function("() => document.getElementById('player').currentTime < 2", timeout=SLOW)
        await advances(page)
        assert problems == []
    finally:
        await publisher.close()
