"""schools' keys on the aiohttp application."""
from __future__ import annotations

import asyncio

from aiohttp import web

from schools.config import SchoolsSettings

SCHOOLS_SETTINGS = web.AppKey("schools_settings", SchoolsSettings)
IMPORT_TASKS = web.AppKey("schools_import_tasks", set[asyncio.Task])  # imports this node runs
