"""schools' keys on the aiohttp application."""
from __future__ import annotations

import asyncio

from aiohttp import web

from schools.config import SchoolsSettings

SCHOOLS_SETTINGS = web.AppKey("schools_settings", SchoolsSettings)
JOB_TASKS = web.AppKey("schools_job_tasks", set[asyncio.Task])  # the imports and rollovers this node runs (schools/jobs.py)
