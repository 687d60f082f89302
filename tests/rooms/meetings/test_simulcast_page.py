"""Simulcast end to end: the meeting page in Chromium publishes its camera as three RID layers; a receiver gets the layer its tile asks for.

The receiving page's stage (mid 1) is told small, then large, with
``meeting.tiles`` frames sent on its own socket (its page sends its real tile
sizes too; they are held back once the test speaks, so the test decides). Its
``getStats()`` shows the stage decoding the publisher's smallest layer, then
its largest, without a pause in ``framesDecoded``; the worker's slot shows the
matching RID.
"""
from __future__ import annotations

import asyncio
import json

from playwright.async_api import expect

from rooms.keys import LIVE_MEETINGS
from server.appkeys import SETTINGS
from tests.rooms.meetings.test_page import SLOW, browser, host_and_meeting, join_as_guest, join_as_host, open_page  # noqa: F401  (fixtures)
from tests.web.conftest import backend, base_url, live_server  # noqa: F401  (fixtures)

# The page's WebSocket, for the test to send frames on and to hold back the page's own meeting.tiles (test-only instrumentation).
RECORD_SOCKETS = """
window.__sockets = []; window.__sent = []; window.__holdTiles = false;
const NativeWebSocket = window.WebSocket;
window.__nativeSend = NativeWebSocket.prototype.send;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) { super(...args); window.__sockets.push(this); }
  send(data) {
    window.__sent.push(String(data));
    if (window.__holdTiles && String(data).includes('"meeting.tiles"')) return;
    super.send(data);
  }
};
"""

# The video layers the publisher sends, by RID, and what the receiver's stage (mid 1) decodes.
OUTBOUND_LAYERS = """
async () => {
  const out = {};
  (await window.__pcs[0].getStats()).forEach((s) => {
    if (s.type === "outbound-rtp" && s.kind === "video" && s.rid) out[s.rid] = { width: s.frameWidth || 0, frames: s.framesEncoded || 0 };
  });
  return out;
}
"""
STAGE = """
async () => {
  let stage = null;
  (await window.__pcs[0].getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video" && s.mid === "1") stage = { width: s.frameWidth || 0, frames: s.framesDecoded || 0 };
  });
  return stage;
}
"""


async def poll(page, script: str, test, timeout: float = 30.0):
    """The first result of ``script`` that passes ``test``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await page.evaluate(script)
        if value and test(value):
            return value
        if loop.time() > deadline:
            raise AssertionError(f"not reached within {timeout}s: {value}")
        await asyncio.sleep(0.5)


async def ask_tiles(page, tiles: dict) -> None:
    frame = json.dumps({"type": "meeting.tiles", "tiles": tiles})
    await page.evaluate(f"window.__holdTiles = true; window.__nativeSend.call(window.__sockets.at(-1), {frame!r})")


async def test_a_receiver_gets_the_small_layer_for_a_small_tile_and_the_large_one_for_a_large_tile(
    in_process_media, app, db, base_url, open_page,  # noqa: F811
):
    link, token = await host_and_meeting(db, base_url, app[SETTINGS].secret_key)
    host = await join_as_host(open_page, link, token)
    guest_page = open_page

    async def open_recording(token=None):
        page = await guest_page(token)
        await page.add_init_script(RECORD_SOCKETS)
        return page

    guest = await join_as_guest(open_recording, link, "Gus Guest")
    await expect(guest.locator("body")).to_have_attribute("data-meeting", "joined", timeout=SLOW)

    layers = await poll(host, OUTBOUND_LAYERS, lambda v: len(v) == 3 and all(layer["frames"] > 0 and layer["width"] for layer in v.values()))
    widths = sorted(layer["width"] for layer in layers.values())
    assert widths[0] < widths[-1]
    await poll(guest, "window.__sent.filter((f) => f.includes('\"meeting.tiles\"')).length", lambda n: n > 0)  # the page's own

    await ask_tiles(guest, {"1": [150, 84]})
    small = await poll(guest, STAGE, lambda s: s["width"] == widths[0] and s["frames"] > 0)
    later = await poll(guest, STAGE, lambda s: s["frames"] > small["frames"] + 10)
    assert later["width"] == widths[0]
    peers = [p for w in app[LIVE_MEETINGS].router.workers for r in w.rooms for p in r.peers.values() if p.tiles == {"1": (150, 84)}]
    assert len(peers) == 1 and peers[0].slots["1"].source.rid == "q"

    await ask_tiles(guest, {"1": [1280, 720]})
    large = await poll(guest, STAGE, lambda s: s["width"] == widths[-1])
    assert large["frames"] >= later["frames"]  # the decoder went on across the switch
    after = await poll(guest, STAGE, lambda s: s["frames"] > large["frames"] + 10)
    assert after["width"] == widths[-1] and peers[0].slots["1"].source.rid == "f"
