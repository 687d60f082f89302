"""The meeting page in two real Chromium profiles with fake camera and microphone, meeting through the SFU.

Each page's own ``RTCPeerConnection.getStats()`` must show the other's video
decoded (``framesDecoded``) and its audio received (``totalSamplesReceived``)
growing; a screen share renegotiates and the other page decodes it on its
screen slot. Pages run on the embedded database only, as in tests/web.
"""
from __future__ import annotations

import asyncio

import aiohttp
import pytest
from playwright.async_api import expect

from rooms.keys import LIVE_MEETINGS
from rooms.meetings.meetings import do_create_meeting
from server.appkeys import SETTINGS
from tests import services
from tests.factories import PASSWORD, make_org, make_user
from tests.web.conftest import CHROMIUM_ARGS, backend, base_url, live_server  # noqa: F401  (fixtures)

SLOW = 15_000  # ms, for what waits on media or a renegotiation on a loaded machine (expect's default is 5 s)
MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",  # grants camera, microphone and screen capture without a prompt
    "--allow-loopback-in-peer-connection",  # the SFU listens on 127.0.0.1 in tests
    "--autoplay-policy=no-user-gesture-required",
]

# Every RTCPeerConnection the page creates, for the test to read its stats (test-only instrumentation).
RECORD_PEER_CONNECTIONS = """
window.__pcs = [];
const NativePeerConnection = window.RTCPeerConnection;
window.RTCPeerConnection = class extends NativePeerConnection {
  constructor(...args) { super(...args); window.__pcs.push(this); }
};
"""

# What the page receives: decoded video frames per track, audio samples, by inbound-rtp stream.
INBOUND = """
async () => {
  const pc = window.__pcs[0];
  if (!pc) return null;
  const out = { video: {}, audio: 0 };
  (await pc.getStats()).forEach((s) => {
    if (s.type !== "inbound-rtp") return;
    if (s.kind === "video") out.video[s.trackIdentifier] = s.framesDecoded || 0;
    else out.audio += s.totalSamplesReceived || 0;
  });
  return out;
}
"""


@pytest.fixture
async def browser():
    executable = services.require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS + MEDIA_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def open_page(browser, base_url):  # noqa: F811
    """New browser profiles; each fails the test on a script error or a CSP violation."""
    contexts, problems = [], []

    async def open_page(token: str | None = None):
        context = await browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 860})
        context.set_default_timeout(15_000)
        await context.add_init_script(RECORD_PEER_CONNECTIONS)
        if token:
            await context.add_init_script(f"localStorage.setItem('muster.token', {token!r});")
        contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "Content Security Policy" in m.text else None)
        return page

    yield open_page
    for context in contexts:
        await context.close()
    assert problems == []


async def host_and_meeting(db, base_url: str, secret_key: str, **fields) -> tuple[str, str]:  # noqa: F811
    """A meeting hosted by a member of an organisation; its link path and the host's session token."""
    host = await make_user(db, "Hana Host")
    org = await make_org(db, host)
    async with db.transaction(org_id=org.id) as tx:
        meeting = await do_create_meeting(
            tx, secret_key, host_id=host.id, title="Ward round", scheduled_at=None, passcode=fields.get("passcode"),
            lobby_enabled=fields.get("lobby_enabled", False), cap=10, cohosts=[],
        )
        link = f"/m/{meeting.join_token}"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base_url}/api/v1/auth/login", json={"email": host.email, "password": PASSWORD}) as resp:
            assert resp.status == 200, await resp.text()
            token = (await resp.json())["token"]
    return link, token


async def join_as_host(open_page, link, token, passcode=None):
    page = await open_page(token)
    await page.goto(link)
    await expect(page.locator("#display-name")).to_be_hidden(timeout=15_000)  # a signed-in host is known once the page has asked who they are: slow on a loaded CI machine
    if passcode:
        await page.fill("#passcode", passcode)
    await page.click("#join-submit")
    await expect(page.locator("body")).to_have_attribute("data-meeting", "joined")
    return page


async def join_as_guest(open_page, link, name, passcode=None):
    page = await open_page()
    await page.goto(link)
    await page.fill("#display-name", name)
    if passcode:
        await page.fill("#passcode", passcode)
    await page.click("#join-submit")
    return page


async def wait_growing(page, pick, timeout: float = 20.0, script: str = INBOUND) -> None:
    """Until ``pick(stats)`` (or what ``script`` counts) is positive and has grown since the previous look."""
    loop = asyncio.get_running_loop()
    deadline, last = loop.time() + timeout, None
    while True:
        stats = await page.evaluate(script)
        value = pick(stats) if stats else 0
        if value and last is not None and value > last:
            return
        last = value or None
        if loop.time() > deadline:
            raise AssertionError(f"media did not grow within {timeout}s: {stats}")
        await asyncio.sleep(0.5)


def camera_frames(stats) -> int:
    return sum(stats["video"].values())


async def test_two_browsers_meet_and_each_decodes_the_others_video_and_audio(in_process_media, app, db, base_url, open_page):  # noqa: F811
    link, token = await host_and_meeting(db, base_url, app[SETTINGS].secret_key, passcode="2468", lobby_enabled=True)
    host = await join_as_host(open_page, link, token, passcode="2468")

    guest = await join_as_guest(open_page, link, "Gus Guest", passcode="1111")
    await expect(guest.locator("#join-error")).to_have_text("wrong passcode for this meeting")
    await guest.fill("#passcode", "2468")
    await guest.click("#join-submit")
    await expect(guest.locator("body")).to_have_attribute("data-meeting", "lobby")
    other = await join_as_guest(open_page, link, "Dan Doorstep", passcode="2468")
    await expect(host.locator("#waiting li")).to_have_count(2)
    await host.get_by_role("button", name="Deny Dan Doorstep").click()
    await expect(other.locator("#left-title")).to_have_text("You were not let in")
    await expect(other.locator("#left-reason")).to_have_text("The host did not let you in.")
    await expect(host.locator("#waiting li")).to_have_count(1)
    await host.locator("#waiting li", has_text="Gus Guest").get_by_role("button", name="Admit").click()
    await expect(guest.locator("body")).to_have_attribute("data-meeting", "joined")
    await expect(host.locator("#people li")).to_have_count(2)

    for page in (host, guest):
        await wait_growing(page, camera_frames)
        await wait_growing(page, lambda stats: stats["audio"])
    await expect(host.locator("body")).to_have_attribute("data-media", "connected", timeout=SLOW)
    workers = app[LIVE_MEETINGS].router.workers
    remote = {c.host for w in workers for r in w.rooms for p in r.peers.values() for c in p.transport.ice._connection.remote_candidates}
    assert remote == {"127.0.0.1"}  # the browsers' other interfaces were neither paired nor learnt from their checks

    await guest.fill("#chat-text", "Hello from the guest")
    await guest.press("#chat-text", "Enter")
    await expect(host.locator("#chat li")).to_have_text(["Gus GuestHello from the guest"])
    await guest.click("#toggle-hand")
    await expect(host.locator("#people li", has_text="Gus Guest")).to_contain_text("hand up")
    await guest.click("#toggle-audio")
    await expect(host.locator("#people li", has_text="Gus Guest")).to_contain_text("muted")
    await guest.click("#toggle-video")
    await expect(host.locator("#people li", has_text="Gus Guest")).to_contain_text("camera off")
    assert await guest.evaluate("window.__pcs[0].getSenders().every((s) => !s.track || s.track.enabled === false)")
    await guest.click("#leave")
    await expect(host.locator("#people li")).to_have_count(1)
    await expect(host.locator("#chat li.note")).to_have_text(["Gus Guest left"])
    await expect(guest.locator("#left-title")).to_have_text("You left the meeting")
    await expect(guest.locator("#rejoin")).to_be_visible()


async def test_screen_share_renegotiates_and_the_other_browser_decodes_it(app, db, base_url, open_page):  # noqa: F811
    link, token = await host_and_meeting(db, base_url, app[SETTINGS].secret_key)
    host = await join_as_host(open_page, link, token)
    guest = await join_as_guest(open_page, link, "Gus Guest")
    await expect(guest.locator("body")).to_have_attribute("data-meeting", "joined")
    await wait_growing(guest, camera_frames)

    await host.click("#toggle-screen")
    await expect(host.locator("#toggle-screen")).to_have_text("Stop sharing", timeout=SLOW)
    await expect(guest.locator("#screen-tile")).to_be_visible(timeout=SLOW)
    await expect(guest.locator("#screen-label")).to_have_text("Hana Host is sharing their screen")
    screen_track = await guest.evaluate("document.getElementById('screen-video').srcObject.getVideoTracks()[0].id")
    await wait_growing(guest, lambda stats: stats["video"].get(screen_track, 0))
    await wait_growing(guest, camera_frames)  # the camera keeps flowing beside the screen

    await host.click("#toggle-screen")
    await expect(guest.locator("#screen-tile")).to_be_hidden(timeout=SLOW)
    await expect(host.locator("#toggle-screen")).to_have_text("Share screen", timeout=SLOW)


# Audio RTP packets the page received (over all its audio slots), or sent.
AUDIO_PACKETS = """
async () => {
  let packets = 0;
  (await window.__pcs[0].getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") packets += s.packetsReceived || 0;
  });
  return packets;
}
"""
AUDIO_SENT = AUDIO_PACKETS.replace('"inbound-rtp"', '"outbound-rtp"').replace("packetsReceived", "packetsSent")


async def wait_still(page, script: str, quiet: float = 1.5, timeout: float = 15.0) -> None:
    """Until what ``script`` counts stays the same for ``quiet`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last, since = await page.evaluate(script), loop.time()
    while loop.time() - since < quiet:
        if loop.time() > deadline:
            raise AssertionError(f"still growing after {timeout}s: {last}")
        await asyncio.sleep(0.3)
        value = await page.evaluate(script)
        if value != last:
            last, since = value, loop.time()


async def test_the_host_mutes_and_removes_a_guest_then_locks_and_ends_the_meeting(in_process_media, app, db, base_url, open_page):  # noqa: F811
    link, token = await host_and_meeting(db, base_url, app[SETTINGS].secret_key)
    host = await join_as_host(open_page, link, token)
    guest = await join_as_guest(open_page, link, "Gus Guest")
    await expect(guest.locator("body")).to_have_attribute("data-meeting", "joined")
    await expect(guest.locator("#host-controls")).to_be_hidden()
    await expect(guest.locator("#people li").get_by_role("button")).to_have_count(0)
    await expect(host.locator("#grid .tile.stage .tile-name")).to_have_text("Gus Guest")
    await expect(guest.locator("#grid .tile.stage .tile-name")).to_have_text("Hana Host")
    await expect(host.locator("#self-tile .tile-name")).to_have_text("You")
    await wait_growing(host, lambda stats: stats["audio"])
    live = app[LIVE_MEETINGS]
    seat = next(s for meeting in live.meetings.values() for s in meeting.seats.values() if s.name == "Gus Guest")
    tracks = [t for w in live.router.workers for t in w.forwarder.tracks.values() if t.owner == seat.pid and t.kind == "audio"]
    assert tracks and not any(t.held for t in tracks)

    row = host.locator("#people li", has_text="Gus Guest")
    await row.get_by_role("button", name="Mute Gus Guest").click()
    await expect(guest.locator("#notice")).to_have_text("The host muted you. Unmute when you want to speak.")
    await expect(guest.locator("#toggle-audio")).to_have_text("Unmute")
    await expect(row).to_contain_text("muted")
    await expect(row.get_by_role("button", name="Mute Gus Guest")).to_have_count(0)
    assert all(t.held for t in tracks)  # the SFU drops the guest's audio, whatever its browser sends
    await wait_still(host, AUDIO_PACKETS)  # and the host's page gets none of it,
    await wait_growing(guest, lambda sent: sent, script=AUDIO_SENT)  # though the guest's browser still sends (silence)

    await row.get_by_role("button", name="Stop video Gus Guest").click()
    await expect(guest.locator("#notice")).to_have_text("The host turned your camera off. Start it again when you are ready.")
    await expect(guest.locator("#toggle-video")).to_have_text("Start camera")
    await expect(row).to_contain_text("camera off")

    await row.get_by_role("button", name="Remove Gus Guest").click()
    await expect(guest.locator("body")).to_have_attribute("data-meeting", "left")
    await expect(guest.locator("#left-title")).to_have_text("You were removed from the meeting")
    await expect(guest.locator("#rejoin")).to_be_hidden()
    await expect(host.locator("#people li")).to_have_count(1)
    await expect(host.locator("#chat li.note")).to_have_text(["Gus Guest was removed by the host"])
    await expect(host.locator("#grid .tile.stage .tile-name")).to_have_text("Active speaker")

    await host.click("#toggle-lock")
    await expect(host.locator("#lock-state")).to_be_visible()
    await expect(host.locator("#toggle-lock")).to_have_text("Unlock meeting")
    await host.click("#end-meeting")
    await expect(host.locator("#end-meeting")).to_have_text("Click again to end for everyone")
    await host.click("#end-meeting")
    await expect(host.locator("#left-title")).to_have_text("The meeting has ended")
    await expect(host.locator("#left-reason")).to_have_text("The host ended the meeting.")
