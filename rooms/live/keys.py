"""Typed application state of rooms/live (``web.AppKey``)."""
from __future__ import annotations

from aiohttp import web

from rooms.live.ingest import StreamIngest
from rooms.live.likes import Likes
from rooms.live.notices import Announcer
from rooms.live.room import StreamRooms

STREAM_INGEST = web.AppKey("rooms_stream_ingest", StreamIngest)
ANNOUNCER = web.AppKey("rooms_live_announcer", Announcer)
LIKES = web.AppKey("rooms_live_likes", Likes)
STREAM_ROOMS = web.AppKey("rooms_live_rooms", StreamRooms)
