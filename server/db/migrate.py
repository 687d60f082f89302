"""Alembic, driven from code: the only way the schema changes.

The platform's migrations live in server/db/migrations/versions; each
capability keeps its own branch in its own folder, and ``upgrade`` applies
every branch's head.
"""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

from alembic import command
from alembic.config import Config

from server import capabilities

HERE = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    locations = [str(HERE / "versions")] + [str(c.migrations) for c in capabilities.load() if c.migrations]
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(locations))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Run from a thread or a plain script: Alembic's env.py starts its own event loop."""
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str) -> None:
    await asyncio.to_thread(upgrade, url)
