"""Typed application state of notify/ (``web.AppKey``)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from notify.config import NotifySettings
    from notify.receipts import ReceiptBatcher
    from notify.workers import Workers

NOTIFY_SETTINGS = web.AppKey("notify_settings", "NotifySettings")
WORKERS = web.AppKey("notify_workers", "Workers")
RECEIPTS = web.AppKey("notify_receipts", "ReceiptBatcher")
