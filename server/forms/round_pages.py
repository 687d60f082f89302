"""The rounds' pages: ``/forms/{form_id}/rounds`` to send a form and set its recurrences (and the calendar),
``/rounds/{round_id}`` to follow a round live, and ``/f/{round_id}``, the page a respondent fills in on a phone.

Static documents like the platform's (server/web/routes.py): their scripts call the JSON API, which
authorises; the files are served with the form engine's under ``/forms/static/`` (``rounds/``).
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from server.web.routes import WEB_ROUTE_PREFIX, page_handler

WEB = Path(__file__).parent / "web"
PAGES = {"/forms/{form_id}/rounds": "rounds.html", "/rounds/{round_id}": "dashboard.html", "/f/{round_id}": "fill.html"}


def setup(app: web.Application) -> None:
    for path, document in PAGES.items():
        app.router.add_get(path, page_handler(WEB / document), name=f"{WEB_ROUTE_PREFIX}forms-{Path(document).stem}")
