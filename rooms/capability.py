"""How rooms/ plugs into the platform (see server/capabilities.py)."""
from pathlib import Path

from aiohttp import web

from server.capabilities import Capability


def setup(app: web.Application) -> None:
    pass


capability = Capability(name="rooms", setup=setup, models="rooms.models", migrations=Path(__file__).parent / "migrations")
