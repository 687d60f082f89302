"""HLS of a livestream: the URLs a viewer gets from the page, and the origin that serves playlists and segments.

**Authorisation without a look-up per segment.** A person is checked once,
when the page asks ``GET /api/v1/live/{stream_id}/hls`` (the same rule as
WHEP and the page: members, admins, the stream's guests; anyone else 404).
The answer's URLs carry the stream's token: an HMAC of the stream id and the
current period of ``MUSTER_ROOMS_LIVE_HLS_TOKEN_S`` (60 s) under the node's
secret key, the same for every viewer of the stream, so a cache keys each
segment once per stream and period, not per viewer. The origin accepts the
current and the previous period's token (an HMAC, no database), anything
else is 404 like a stream one may not see. The page asks again every half
period and its player rewrites the token in every request it makes; a
person who lost access gets 404 from that call, and the token they hold is
refused at most two periods (two minutes) later.

**The origin** (``/hls/{stream_id}/{token}/...``), behind the nginx cache of
deploy/nginx.conf (``proxy_cache_lock``: one fetch from here per segment and
token period, however many viewers):

* ``live.m3u8``: the live playlist the node's HLS segmenter writes
  (rooms/hls/sink.py), ``Cache-Control: max-age=1``;
* ``init-<run>.mp4``, ``<run>-<n>.m4s``: its init and media segments, each
  written once under a name never reused, ``immutable`` for the token's two
  periods (a cache serves its copy without asking the origin, so a copy must
  not outlive the token in its URL);
* ``replay.m3u8`` and ``replay.mp4``: once the stream ended, its replay, a
  platform file (rooms/live/replays.py) played by byte ranges; the file's
  path is looked up once per stream and node, then kept in memory.

The live files are on the node that ingests the stream (the publisher's):
deploy/nginx.conf hashes ``/hls/<stream id>`` to the same node as
``/whip/<stream id>``. They are deleted ``LIVE_FILES_KEPT_S`` after the end.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections import OrderedDict

from aiohttp import web

from rooms.keys import ROOMS_SETTINGS
from rooms.live import streams as s
from rooms.live.ingest import live_dir
from rooms.live.replays import ready_replay_file, replay_of
from rooms.live.schemas import HlsOut
from rooms.live.whep import watcher
from server.api import endpoint
from server.appkeys import DB, SETTINGS
from server.errors import NotFound

routes = web.RouteTableDef()
ORIGIN = "/hls/{stream_id:\\d+}/{token}/"
MEDIA_NAME = re.compile(r"(init-[0-9a-f]+\.mp4|[0-9a-f]+-\d+\.m4s)")
PLAYLIST = "application/vnd.apple.mpegurl"
SHORT = "public, max-age=1"
REPLAY_PATHS_KEPT = 1000
REPLAY_PATHS = web.AppKey("live_replay_paths", OrderedDict)  # stream id -> its replay's bytes, looked up once per node


def setup(app: web.Application) -> None:
    app[REPLAY_PATHS] = OrderedDict()
    app.router.add_routes(routes)


def stream_token(secret: str, stream_id: int, period: int) -> str:
    digest = hmac.new(secret.encode(), f"live-hls\n{stream_id}\n{period}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def current_token(secret: str, period_s: int, stream_id: int, now: float | None = None) -> str:
    return stream_token(secret, stream_id, int((time.time() if now is None else now) // period_s))


def check_token(secret: str, period_s: int, stream_id: int, token: str, now: float | None = None) -> None:
    """The current or the previous period's token of the stream; 404 otherwise (as for a stream one may not watch)."""
    period = int((time.time() if now is None else now) // period_s)
    if not any(hmac.compare_digest(token, stream_token(secret, stream_id, p)) for p in (period, period - 1)):
        raise NotFound("no such stream, or this HLS link has expired: ask the watch page for a new one", field="token")


def _checked(request: web.Request) -> int:
    stream_id = int(request.match_info["stream_id"])
    check_token(request.app[SETTINGS].secret_key, request.app[ROOMS_SETTINGS].live_hls_token_s, stream_id, request.match_info["token"])
    return stream_id


def _headers(cache: str) -> dict[str, str]:
    return {"Cache-Control": cache, "Access-Control-Allow-Origin": "*"}


def _immutable(request: web.Request) -> str:
    """A segment never changes, but a cache serves its copy without asking here: it must not outlive the token in its URL."""
    return f"public, max-age={2 * request.app[ROOMS_SETTINGS].live_hls_token_s}, immutable"


@routes.get("/api/v1/live/{stream_id}/hls")
@endpoint(response=HlsOut, auth="any")
async def hls_urls(request: web.Request) -> HlsOut:
    """The HLS playlists of a stream for whoever may watch it (404 for anyone else): live while it is live, its replay after."""
    org, stream = await watcher(request)
    period = request.app[ROOMS_SETTINGS].live_hls_token_s
    token = current_token(request.app[SETTINGS].secret_key, period, stream.id)
    replay = None
    if stream.status == "ended":
        async with request.app[DB].transaction(org_id=org.org_id) as tx:
            found = await replay_of(tx, stream.id)
            replay = found is not None and found.status == "ready"
    base = f"/hls/{stream.id}/{token}/"
    return HlsOut(live=base + "live.m3u8" if stream.status == "live" else None, replay=base + "replay.m3u8" if replay else None,
                  token=token, refresh_s=max(period // 2, 5))


@routes.get(ORIGIN + "live.m3u8")
async def live_playlist(request: web.Request) -> web.Response:
    stream_id = _checked(request)
    try:
        text = (live_dir(request.app[SETTINGS], stream_id) / "live.m3u8").read_text()
    except FileNotFoundError:
        raise NotFound("this stream has no live playlist on this node (not live, not started yet, or ingested elsewhere)") from None
    return web.Response(text=text, content_type=PLAYLIST, headers=_headers(SHORT))


@routes.get(ORIGIN + "{name}")
async def media(request: web.Request) -> web.StreamResponse:
    """A live segment, or the replay's playlist or bytes."""
    stream_id = _checked(request)
    name = request.match_info["name"]
    if name == "replay.m3u8":
        replay = await _replay(request, stream_id)
        return web.Response(text=replay.playlist, content_type=PLAYLIST, headers=_headers("public, max-age=60"))
    if name == "replay.mp4":
        paths = request.app[REPLAY_PATHS]
        path = paths.get(stream_id)
        if path is None or not path.exists():  # not looked up on this node yet, or deleted since
            paths.pop(stream_id, None)
            await _replay(request, stream_id)
            path = paths[stream_id]
        return web.FileResponse(path, headers={**_headers(_immutable(request)), "Content-Type": "video/mp4"})
    if not MEDIA_NAME.fullmatch(name):
        raise NotFound("no such HLS file", field="name")
    path = live_dir(request.app[SETTINGS], stream_id) / name
    if not path.exists():
        raise NotFound("no such segment: it is older than the live window, or on another node", field="name")
    return web.FileResponse(path, headers={**_headers(_immutable(request)), "Content-Type": "video/mp4" if name.endswith(".mp4") else "video/iso.segment"})


async def _replay(request: web.Request, stream_id: int):
    org_id = await s.org_of_stream(request.app[DB], stream_id)
    async with request.app[DB].transaction(org_id=org_id) as tx:
        replay, path = await ready_replay_file(tx, request.app[SETTINGS], stream_id)
    paths = request.app[REPLAY_PATHS]
    paths[stream_id] = path
    paths.move_to_end(stream_id)
    while len(paths) > REPLAY_PATHS_KEPT:
        paths.popitem(last=False)
    return replay
