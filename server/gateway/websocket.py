"""The device WebSocket, /api/v1/ws (being built: see docs/ARCHITECTURE.md)."""
from aiohttp import web


def setup(app: web.Application) -> None:
    pass
