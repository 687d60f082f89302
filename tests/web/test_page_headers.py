"""What the server sends with pages and their files: the security headers, the right types, nothing else."""
from __future__ import annotations

import re

import pytest

from server.web.routes import SECURITY_HEADERS


@pytest.mark.parametrize("path", ["/", "/directory", "/join", "/link", "/static/api.js", "/static/join.js", "/static/muster.css"])
async def test_pages_and_their_files_carry_the_security_headers(client, path):
    resp = await client.get(path)
    assert resp.status == 200
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
    for header, value in SECURITY_HEADERS.items():
        assert resp.headers[header] == value


async def test_scripts_are_served_as_javascript(client):
    resp = await client.get("/static/directory.js")
    assert resp.headers["Content-Type"].startswith(("application/javascript", "text/javascript"))


async def test_no_page_has_inline_script_or_style(client):
    for path in ("/", "/directory", "/join", "/link"):
        html = await (await client.get(path)).text()
        assert "<script>" not in html and "<style" not in html and " style=" not in html
        assert re.search(r"\son[a-z]+=", html) is None, "inline event handler"


async def test_files_outside_the_static_folder_are_not_served(client):
    for path in ("/static/../routes.py", "/static/%2e%2e/routes.py", "/static/..%2Froutes.py"):
        resp = await client.get(path)
        assert resp.status in (403, 404), path
        assert "def setup" not in await resp.text()
