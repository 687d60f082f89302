"""A third-party WHIP client, npm's @eyevinn/whip-web-client (vendored), publishes Chromium's fake camera and
microphone from a page on another origin: CORS preflight, the offer, trickled candidates (PATCH), and H.264 that a
viewer in the SFU decodes; its DELETE ends the stream. Runs on the embedded database only, as the page tests do."""
from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from rooms.live.keys import STREAM_INGEST
from rooms.models import LiveStream
from tests import services
from tests.factories import PASSWORD, make_org, make_user
from tests.rooms.live.whip_client import watch_in_sfu
from tests.rooms.meetings.test_page import MEDIA_ARGS
from tests.web.conftest import CHROMIUM_ARGS, backend, base_url, live_server  # noqa: F401  (fixtures)

VENDOR = Path(__file__).parent / "vendor" / "whip-web-client.js"
PAGE = """<!doctype html><meta charset="utf-8"><title>studio</title>
<script type="module">
import { WHIPClient } from "/whip-web-client.js";
window.publish = async (endpoint, key) => {
  const media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
  const client = new WHIPClient({ endpoint, opts: { authkey: key, iceServers: [] } });
  await client.ingest(media);
  window.client = client;
};
window.sent = async () => {
  const out = { frames: 0, codec: null };
  const stats = await window.client.peer.getStats();
  stats.forEach((s) => {
    if (s.type === "outbound-rtp" && s.kind === "video") { out.frames = s.framesEncoded || 0; out.codec = stats.get(s.codecId)?.mimeType; }
  });
  return out;
};
</script>"""


async def page(request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html")


async def client_script(request: web.Request) -> web.Response:
    return web.Response(body=VENDOR.read_bytes(), content_type="text/javascript")


@pytest.fixture
async def studio_origin():
    """The page and the vendored client, served from another origin than the server's (a port of its own)."""
    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/whip-web-client.js", client_script)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


async def stream_with_key(db, base_url: str) -> tuple[int, str]:  # noqa: F811
    """A stream of a one-person class group, started by its owner over the API: its id and stream key."""
    teacher = await make_user(db, "Tess Teacher")
    org = await make_org(db, teacher)
    async with aiohttp.ClientSession(base_url) as http:
        async with http.post("/api/v1/auth/login", json={"email": teacher.email, "password": PASSWORD}) as resp:
            headers = {"Authorization": f"Bearer {(await resp.json())['token']}"}
        async with http.post(f"/api/v1/orgs/{org.id}/groups", json={"name": "3B", "member_ids": []}, headers=headers) as resp:
            group = await resp.json()
        async with http.post(f"/api/v1/orgs/{org.id}/streams", json={"group_id": group["id"], "title": "Maths"}, headers=headers) as resp:
            assert resp.status == 201, await resp.text()
            stream = await resp.json()
    return stream["id"], stream["stream_key"]


async def test_eyevinn_whip_web_client_in_chromium_publishes_h264_a_viewer_decodes_and_its_delete_ends_the_stream(app, db, base_url, studio_origin):  # noqa: F811
    stream_id, key = await stream_with_key(db, base_url)
    executable = services.require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS + MEDIA_ARGS)
        problems: list[str] = []
        try:
            page = await browser.new_page()
            page.on("pageerror", lambda error: problems.append(str(error)))
            asked: list[str] = []
            page.on("request", lambda request: asked.append(request.method) if "/whip/" in request.url else None)
            await page.goto(studio_origin + "/")
            await page.evaluate("([endpoint, key]) => window.publish(endpoint, key)", [f"{base_url}/whip/{stream_id}", key])
            publisher = None
            for _ in range(150):
                publisher = next(iter(app[STREAM_INGEST].publishers.values()), None)
                if publisher is not None and (await page.evaluate("window.sent()"))["frames"] > 10:
                    break
                await asyncio.sleep(0.1)
            sent = await page.evaluate("window.sent()")
            assert publisher is not None and sent["frames"] > 10 and sent["codec"] == "video/H264", sent
            viewer_pc, frame, viewer = await watch_in_sfu(app, stream_id)
            assert (frame.width, frame.height) == (640, 480)  # Chromium's H.264, forwarded untouched, decoded by the viewer
            await viewer_pc.close()
            await viewer.leave()

            await page.evaluate("window.client.destroy()")  # the client's DELETE on its resource
            for _ in range(100):
                async with db.transaction() as tx:
                    status = await tx.session.scalar(select(LiveStream.status).where(LiveStream.id == stream_id))
                if status == "ended":
                    break
                await asyncio.sleep(0.1)
            assert status == "ended" and not app[STREAM_INGEST].publishers
            assert asked[:2] == ["OPTIONS", "POST"] and "PATCH" in asked and asked[-1] == "DELETE", asked  # offer, trickled candidates, stop
        finally:
            await browser.close()
    assert problems == []
