"""Fixtures of the page tests: the app on a real port and Debian's Chromium driven by Playwright.

Pages are tested on the embedded database only: what they show comes from the
JSON API, whose storage is tested on both backends in tests/server.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from tests import services

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
async def live_server(app):
    """The app listening on 127.0.0.1, for a real browser."""
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
def base_url(live_server) -> str:
    return str(live_server.make_url("")).rstrip("/")


@pytest.fixture
async def browser():
    executable = services.require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser, base_url):
    """A fresh browser profile (empty localStorage). Fails the test on any script error or CSP violation."""
    context = await browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(10_000)
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "console",
        lambda message: problems.append(f"console: {message.text}")
        if message.type == "error" and "Content Security Policy" in message.text
        else None,
    )
    yield page
    await context.close()
    assert problems == []


async def open_signed_in(browser, base_url: str, person, path: str, **storage: str):
    """``path`` in a new browser profile already signed in as ``person`` (``storage`` adds ``muster.*`` keys),
    once the page says it is live. Returns the page and a list that collects its script errors and CSP violations."""
    context = await browser.new_context(base_url=base_url)
    context.set_default_timeout(10_000)
    items = {"token": person.headers["Authorization"].removeprefix("Bearer "), **storage}
    await context.add_init_script("".join(f"localStorage.setItem('muster.{key}', '{value}');" for key, value in items.items()))
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Content Security Policy" in m.text else None)
    await page.goto(path)
    await expect(page.locator("body[data-live='true']")).to_have_count(1)
    return page, errors


@pytest.fixture
def screenshots(tmp_path) -> Path:
    """Where tests save screenshots: MUSTER_TEST_SCREENSHOTS if set (to look at them), else the test's tmp dir."""
    folder = Path(os.environ.get("MUSTER_TEST_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
