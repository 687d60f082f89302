"""Typed application state of rooms/ (``web.AppKey``)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from rooms.config import RoomsSettings
    from rooms.meetings.live import LiveMeetings

ROOMS_SETTINGS = web.AppKey("rooms_settings", "RoomsSettings")
LIVE_MEETINGS = web.AppKey("rooms_live_meetings", "LiveMeetings")
