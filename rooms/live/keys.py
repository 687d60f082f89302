"""Typed application state of rooms/live (``web.AppKey``)."""
from __future__ import annotations

from aiohttp import web

from rooms.live.ingest import StreamIngest
from rooms.live.notices import Announcer

STREAM_INGEST = web.AppKey("rooms_stream_ingest", StreamIngest)
ANNOUNCER = web.AppKey("rooms_live_announcer", Announcer)
