"""Liveness, readiness and metrics endpoints for load balancers and Prometheus."""
from __future__ import annotations

import hmac

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from server.accounts.auth import bearer_token, own_bearer_token
from server.appkeys import BUS, DB, SETTINGS
from server.errors import Forbidden

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """The process is up."""
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """The node can serve: its database and bus answer."""
    checks = {}
    try:
        async with request.app[DB].transaction() as tx:
            await tx.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as e:  # report, do not crash the probe
        checks["database"] = f"error: {type(e).__name__}"
    ping = getattr(request.app[BUS], "ping", None)
    if ping is not None:
        try:
            await ping()
            checks["bus"] = "ok"
        except Exception as e:
            checks["bus"] = f"error: {type(e).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return web.json_response({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)


@routes.get("/metrics")
@own_bearer_token
async def metrics(request: web.Request) -> web.Response:
    """Prometheus metrics: with the metrics token if one is set, else to loopback callers only."""
    token = request.app[SETTINGS].metrics_token
    if token:
        given = bearer_token(request) or ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise Forbidden("metrics need the metrics token")
    elif request.remote not in ("127.0.0.1", "::1"):
        raise Forbidden("metrics are served to loopback only unless MUSTER_METRICS_TOKEN is set")
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
