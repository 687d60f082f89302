"""The meeting page at the join link ``/m/<link token>``: one static document and its script.

Like the platform's pages it holds no data: the script joins through the JSON
API (``POST /api/v1/meetings/join``) and then speaks the ``meeting.*`` frames
of the device WebSocket. The routes are named ``web.*`` so they get the
platform's Content-Security-Policy (server/web/routes.py).
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from server.web.routes import WEB_ROUTE_PREFIX

HERE = Path(__file__).parent
PAGE = HERE / "meeting.html"


async def meeting_page(request: web.Request) -> web.FileResponse:
    """The meeting page; the link token stays in the URL for the script to read."""
    return web.FileResponse(PAGE)


def setup(app: web.Application) -> None:
    app.router.add_get("/m/{link_token}", meeting_page, name=WEB_ROUTE_PREFIX + "meeting")
    app.router.add_static("/rooms/static/", HERE / "static", name=WEB_ROUTE_PREFIX + "rooms-static", append_version=False)
