"""Structured logs (one JSON object per line) and Prometheus metrics.

Log records are built from named fields only; the redaction filter is a second
line of defence that masks anything that looks like a bearer token or a
password should it reach a message.
"""
from __future__ import annotations

import json
import logging
import re
import sys

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Histogram("muster_http_request_seconds", "HTTP requests by route and status", ["method", "route", "status"])
WS_CONNECTIONS = Gauge("muster_ws_connections", "Open WebSocket connections on this node")
WS_FRAMES = Counter("muster_ws_frames_sent_total", "Frames sent to devices on this node")
WS_SLOW_CLOSED = Counter("muster_ws_slow_reader_closed_total", "Sockets closed because the client stopped reading")
WS_FRAMES_REFUSED = Counter("muster_ws_frames_refused_total", "Client frames refused as over their socket's or user's rate limit")
WS_FLOOD_CLOSED = Counter("muster_ws_flood_closed_total", "Sockets closed for sending on after their frames were refused (4029)")

_SECRET = re.compile(r"((?:mst|mtd)_[A-Za-z0-9_\-]{8,}|(?i:password|token|secret)[\"']?\s*[:=]\s*[\"']?[^\s\"',}]+)")
_SECRET_PATH_PARAMETER = re.compile(r"token|secret|password", re.IGNORECASE)
_access = logging.getLogger("muster.access")


def redact(text: str) -> str:
    return _SECRET.sub("***", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname, "logger": record.name}
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        else:
            entry["msg"] = record.getMessage()
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("aiosqlite").setLevel(logging.INFO)  # at DEBUG it logs every statement's parameters: link tokens among them


def loggable_path(request) -> str:
    """The request's path with the values of path parameters named like a secret (``{link_token}``) masked.

    A link that lets people in (a meeting's ``/m/{link_token}``) must not be
    copied into logs that operators keep and ship elsewhere.
    """
    path = request.path
    for name, value in request.match_info.items():
        if value and _SECRET_PATH_PARAMETER.search(name):
            path = path.replace(value, "***")
    return path


def request_log(**fields) -> None:
    _access.info("request", extra={"fields": fields})
