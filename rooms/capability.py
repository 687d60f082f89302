"""How rooms/ plugs into the platform (see server/capabilities.py).

Adds the meetings API and registers meetings as something guests can join.
"""
from pathlib import Path

from aiohttp import web

from server.capabilities import Capability


def setup(app: web.Application) -> None:
    from rooms.config import RoomsSettings
    from rooms.keys import LIVE_MEETINGS, ROOMS_SETTINGS
    from rooms.meetings import guests, routes  # noqa: F401  (guests registers the "meeting" scope)
    from rooms.meetings.live import LiveMeetings

    app[ROOMS_SETTINGS] = RoomsSettings()
    app[LIVE_MEETINGS] = LiveMeetings()
    app.router.add_routes(routes.routes)


capability = Capability(name="rooms", setup=setup, models="rooms.models", migrations=Path(__file__).parent / "migrations")
