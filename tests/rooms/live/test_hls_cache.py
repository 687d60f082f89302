"""deploy/nginx.conf's HLS cache in front of a real node (tests/services.py ``nginx_in_front``): however many viewers
ask for a playlist or a segment at once, the node answers it once per token period (``proxy_cache_lock``), the cache
key ignores the viewers' cookies and credentials, and a made-up token is 404 through the cache too."""
from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest

from tests import services
from tests.rooms.live.test_hls import base_of, live_segments
from tests.rooms.live.test_pages import class_stream
from tests.rooms.live.whip_client import publish
from tests.web.conftest import backend, live_server  # noqa: F401

VIEWERS = 25


@pytest.fixture
def origin_requests(app) -> list[str]:
    """The /hls/ paths that reached the node (list it before ``live_server``)."""
    seen: list[str] = []

    async def note(request, response) -> None:
        if request.path.startswith("/hls/"):
            seen.append(request.path)

    app.on_response_prepare.append(note)
    return seen


async def test_many_viewers_at_once_cost_the_node_one_request_per_playlist_and_segment(app, db, origin_requests, live_server, tmp_path):  # noqa: F811
    node = str(live_server.make_url("")).rstrip("/")
    teacher, member, stream = await class_stream(db, node)
    async with aiohttp.ClientSession(node) as http:
        publisher, _, _ = await publish(http, stream, stream["stream_key"])
    try:
        with services.nginx_in_front(tmp_path, [node]) as front:
            async with aiohttp.ClientSession(front, connector=aiohttp.TCPConnector(ssl=False, limit=0)) as http:
                async with http.get(f"/api/v1/live/{stream['id']}/hls", headers=member.headers) as resp:
                    urls = await resp.json()
                text = await live_segments(http, urls["live"], 2)
                segment = base_of(urls["live"]) + re.findall(r"^(\S+\.m4s)$", text, re.M)[-1]
                origin_requests.clear()

                async def viewer(n: int) -> tuple[int, str, bytes]:
                    cookies = {"Cookie": f"viewer={n}", **member.headers} if n % 2 else {}  # the key ignores both
                    async with http.get(segment, headers=cookies) as resp:
                        return resp.status, resp.headers.get("X-Cache-Status", ""), await resp.read()

                answers = await asyncio.gather(*(viewer(n) for n in range(VIEWERS)))
                assert {status for status, _, _ in answers} == {200} and len({body for _, _, body in answers}) == 1
                assert origin_requests == [segment], origin_requests  # one request reached the node
                assert sorted(cache for _, cache, _ in answers).count("MISS") == 1

                origin_requests.clear()
                playlists = await asyncio.gather(*(http.get(urls["live"]) for _ in range(VIEWERS)))
                assert {resp.status for resp in playlists} == {200}
                assert len(origin_requests) <= 2  # once, or twice if its second of freshness ran out meanwhile

                made_up = segment.replace(urls["token"], "AAAAAAAAAAAAAAAAAAAAAA")
                assert (await http.get(made_up)).status == 404
    finally:
        await publisher.close()
