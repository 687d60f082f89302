"""The meetings pages: ``/meetings`` (my upcoming meetings, start or schedule one) and the meeting itself at its join
link ``/m/<link token>``; the livestream pages: the watch page at the watch link ``/live/<id>`` (WHEP) and the
studio ``/live/<id>/studio`` (WHIP from the browser, the stream key, the links); consultations: the patient's page at a
clinic's link ``/consult/<link token>`` and the doctors' page ``/clinics``.

Like the platform's pages they hold no data: their scripts call the JSON API
(the meeting page joins with ``POST /api/v1/meetings/join``, then speaks the
``meeting.*`` frames of the device WebSocket through live.js). The routes are
named ``web.*`` so they get the platform's Content-Security-Policy (server/web/routes.py).
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from rooms.consultations.clinics import serves_clinics
from server.i18n import _
from server.web.navigation import Place, register_place
from server.web.routes import WEB_ROUTE_PREFIX, page_handler

HERE = Path(__file__).parent


def setup(app: web.Application) -> None:
    app.router.add_get("/meetings", page_handler(HERE / "meetings.html"), name=WEB_ROUTE_PREFIX + "meetings")
    app.router.add_get("/m/{link_token}", page_handler(HERE / "meeting.html"), name=WEB_ROUTE_PREFIX + "meeting")
    app.router.add_get("/live/{stream_id:\\d+}", page_handler(HERE / "watch.html"), name=WEB_ROUTE_PREFIX + "live-watch")
    app.router.add_get("/live/{stream_id:\\d+}/studio", page_handler(HERE / "studio.html"), name=WEB_ROUTE_PREFIX + "live-studio")
    app.router.add_get("/consult/{link_token}", page_handler(HERE / "consult.html"), name=WEB_ROUTE_PREFIX + "consult")
    app.router.add_get("/clinics", page_handler(HERE / "clinics.html"), name=WEB_ROUTE_PREFIX + "clinics")
    app.router.add_static("/rooms/static/", HERE / "static", name=WEB_ROUTE_PREFIX + "rooms-static", append_version=False)
    register_place(app, Place("meetings", "/meetings", _("Meetings"), 30))
    register_place(app, Place("clinics", "/clinics", _("Clinics"), 32, visible=serves_clinics))
