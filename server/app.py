"""The aiohttp application: middlewares, platform parts, then each discovered capability."""
from __future__ import annotations

import importlib
import logging
import time
import uuid

from aiohttp import web
from pydantic import ValidationError

from server import capabilities
from server.accounts.auth import auth_middleware
from server.appkeys import BUS, DB, PRINCIPAL, SETTINGS
from server.audit.context import RequestContext, current_request
from server.bus import LocalBus
from server.config import Settings
from server.db import Database
from server.errors import InvalidInput, MusterError, TooLarge
from server.i18n import request_locale
from server.i18n.validation import translated_reason
from server.observability import REQUESTS, loggable_path, request_log
from server.routing import make_application

log = logging.getLogger("muster.app")

# Each module has ``setup(app)``: its routes, and any resource it opens and closes.
PLATFORM_PARTS = (
    "server.health",
    "server.openapi",
    "server.accounts.routes",
    "server.orgs.routes",
    "server.orgs.pages",
    "server.audit.routes",
    "server.personal_data.routes",
    "server.gateway.websocket",
    "server.files.routes",
    "server.channels.routes",
    "server.groups.routes",
    "server.contacts.routes",
    "server.audiences.routes",
    "server.audiences.pickers",
    "server.forms.routes",
    "server.forms.round_routes",
    "server.web.routes",
    "server.retention.job",
)


@web.middleware
async def log_middleware(request: web.Request, handler):
    """One JSON line per request: route, status, time, caller. Never headers, bodies or query strings."""
    started = time.perf_counter()
    request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex[:16]
    context = current_request.set(RequestContext(request.remote, request_id))
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = request_id
        return response
    except web.HTTPException as e:
        status = e.status
        raise
    finally:
        current_request.reset(context)
        elapsed = time.perf_counter() - started
        route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
        REQUESTS.labels(request.method, route, str(status)).observe(elapsed)
        principal = request.get(PRINCIPAL)
        request_log(
            request_id=request_id,
            method=request.method,
            route=route,
            path=loggable_path(request),
            status=status,
            ms=round(elapsed * 1000, 2),
            user_id=principal.user_id if principal else None,
            remote=request.remote,
        )


@web.middleware
async def error_middleware(request: web.Request, handler):
    """Maps the one error hierarchy, and aiohttp's own HTTP errors, to ``{"error": {...}}``."""
    try:
        return await handler(request)
    except MusterError as e:
        headers = {"Retry-After": str(e.retry_after_s)} if e.retry_after_s is not None else None
        return web.json_response(e.as_json(request_locale(request)), status=e.status, headers=headers)
    except ValidationError as e:  # a model built inside a handler; requests are validated in server/api.py
        return web.json_response(InvalidInput(translated_reason(request_locale(request), e.errors()[0])).as_json(), status=400)
    except web.HTTPRequestEntityTooLarge:
        err = TooLarge("body larger than the limit of {limit} bytes", limit=request.app[SETTINGS].max_body_bytes)
        return web.json_response(err.as_json(request_locale(request)), status=413)
    except web.HTTPException as e:
        if e.status < 400 or e.content_type == "application/json":
            raise
        code = {404: "not_found", 405: "method_not_allowed"}.get(e.status, "http_error")
        body = {"error": {"code": code, "message": e.reason, "field": None}}
        return web.json_response(body, status=e.status, headers={k: v for k, v in e.headers.items() if k == "Allow"})


def create_app(settings: Settings, *, bus=None) -> web.Application:
    settings = settings.resolved()
    app = make_application(
        middlewares=[log_middleware, error_middleware, auth_middleware],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    if settings.trusted_proxies:
        from server.proxies import forwarded_middleware

        app.middlewares.insert(0, forwarded_middleware(settings.trusted_proxies))
    app[BUS] = bus if bus is not None else _make_bus(settings)
    app[DB] = Database(settings.database_url, bus=app[BUS])
    app.cleanup_ctx.append(_open_resources)
    for name in PLATFORM_PARTS:
        importlib.import_module(name).setup(app)
    for cap in capabilities.load():
        cap.setup(app)
    return app


def _make_bus(settings: Settings):
    if settings.redis_url:
        from server.gateway.redis_bus import RedisBus

        return RedisBus(settings.redis_url, prefix=settings.redis_prefix)
    return LocalBus()


async def _open_resources(app: web.Application):
    await app[BUS].start()
    yield
    await app[BUS].close()
    await app[DB].close()
