"""The indexed router finds what aiohttp's own router finds, for every route of the app and every method."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from aiohttp import web
from yarl import URL

from server.app import create_app
from server.config import Settings
from server.routing import CROWDED, IndexedDispatcher

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _paths(canonical: str) -> list[str]:
    """Concrete paths for a route: its variables as a number, as a word, and a path one part longer."""
    filled = [re.sub(r"\{[^}]+\}", value, canonical) for value in ("17", "abc")]
    return filled + [filled[0] + "/extra", filled[0].rstrip("/") + "/"]


def _outcome(match) -> tuple:
    if isinstance(match, web.UrlMappingMatchInfo) and match.http_exception is None:
        return ("route", match.route.method, match.route.resource.canonical, dict(match))
    error = match.http_exception
    return ("error", error.status, error.headers.get("Allow", ""))


def _both(app_routes) -> tuple[web.UrlDispatcher, IndexedDispatcher]:
    routers = web.UrlDispatcher(), IndexedDispatcher()
    for router in routers:
        for method, path, handler in app_routes:
            router.add_route(method, path, handler)
    return routers


async def _same(routers, method: str, path: str) -> None:
    plain, indexed = routers
    request = SimpleNamespace(method=method, rel_url=URL(path))  # what routers read of a request
    assert _outcome(await indexed.resolve(request)) == _outcome(await plain.resolve(request)), (method, path)


async def test_every_route_of_the_app_resolves_as_aiohttp_resolves_it(tmp_path):
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'm.db'}", data_dir=str(tmp_path)))
    routes = [(route.method, route.resource.canonical, route.handler) for route in app.router.routes()
              if route.resource is not None and route.resource.canonical.startswith("/api/")]
    routers = _both(routes)
    assert any(len(bucket) > CROWDED for bucket in routers[1]._resource_index.values())  # the joined expression is used
    for canonical in sorted({path for _, path, _ in routes}):
        for path in _paths(canonical):
            for method in METHODS:
                await _same(routers, method, path)


async def _handler(request):  # pragma: no cover - never called
    return web.Response()


@pytest.mark.parametrize("path", ["/a/1/x", "/a/1/x/2", "/a/12/y", "/a/b/x", "/a/1/z", "/a/1/one/two", "/a/ab/w", "/a/1/", "/a"])
async def test_routes_with_their_own_expressions_and_groups(path):
    routes = [("GET", "/a/{id:\\d+}/x", _handler), ("POST", "/a/{id}/x", _handler), ("GET", "/a/{id}/x/{n}", _handler),
              ("GET", "/a/{id:(1|12)}/y", _handler), ("PUT", "/a/{id}/{rest:.*}", _handler), ("GET", "/a/{id:(a)(b)}/w", _handler)]
    routes += [("GET", f"/a/{{id}}/filler{n}", _handler) for n in range(CROWDED)]
    routers = _both(routes)
    for method in METHODS:
        await _same(routers, method, path)
