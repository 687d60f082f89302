"""Typed application and request state (``web.AppKey``/``web.RequestKey``), never string keys."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from server.accounts.auth import Principal
    from server.bus import Bus
    from server.config import Settings
    from server.db import Database
    from server.gateway.hub import Hub

SETTINGS = web.AppKey("settings", "Settings")
DB = web.AppKey("db", "Database")
BUS = web.AppKey("bus", "Bus")
HUB = web.AppKey("hub", "Hub")

PRINCIPAL = web.RequestKey("principal", "Principal | None")
