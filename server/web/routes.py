"""Pages: the HTML documents at ``/`` (sign in), ``/home``, ``/directory``, ``/join`` (guest invite links), ``/link``
(sign-in links) and ``/account``, and the files under ``/static/``.

Pages hold no data: their scripts fetch it from the JSON API with the bearer
token kept in localStorage, so every page is the same static file for
everyone and the API stays the one place that authorises.

Every response of this module carries a strict Content-Security-Policy
(scripts only from this server, no inline script or style, no framing), so an
injected string can never run as code even if a page forgot to escape it.
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

HERE = Path(__file__).parent
STATIC = HERE / "static"

# Names of the routes whose responses get the security headers below.
WEB_ROUTE_PREFIX = "web."

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
        "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Pages and their scripts change together with each release: revalidate, never reuse a stale copy.
    "Cache-Control": "no-cache",
}

# URL path → the HTML document served there.
PAGES = {
    "/": "login.html",
    "/home": "home.html",
    "/directory": "directory.html",
    "/join": "join.html",
    "/link": "link.html",
    "/account": "account.html",
}


def page_handler(document: Path):
    async def serve_page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(document)

    serve_page.__doc__ = f"The page {document.name}."
    return serve_page


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    route = request.match_info.route
    name = route.resource.name if route.resource is not None else None
    if name and name.startswith(WEB_ROUTE_PREFIX):
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)


def setup(app: web.Application) -> None:
    from server.i18n import _
    from server.web import home, navigation

    app.router.add_routes(navigation.routes)
    app.router.add_routes(home.routes)
    navigation.register_place(app, navigation.Place("home", "/home", _("Home"), 0, outsiders=True))
    navigation.register_place(app, navigation.Place("directory", "/directory", _("Directory"), 80))
    for path, document in PAGES.items():
        name = WEB_ROUTE_PREFIX + Path(document).stem
        app.router.add_get(path, page_handler(HERE / document), name=name)
    app.router.add_static("/static/", STATIC, name=WEB_ROUTE_PREFIX + "static", append_version=False)
    app.on_response_prepare.append(add_security_headers)
