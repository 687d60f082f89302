"""Fixtures of the page tests: the app on a real port and Debian's Chromium driven by Playwright.

Pages are tested on the embedded database only: what they show comes from the
JSON API, whose storage is tested on both backends in tests/server.
"""
from __future__ import annotations

import os
import re
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


DESKTOP = {"viewport": {"width": 1280, "height": 860}}
# A 375x667 touch screen (an iPhone 8 / SE's), as Playwright emulates a phone.
PHONE = {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
BROWSER_LOCALES = {"en": "en-US", "zh-CN": "zh-CN"}


def watch_problems(page) -> list[str]:
    """Collects the page's script errors, CSP violations and missing translations (i18n.js reports them)."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "console",
        lambda message: problems.append(f"console: {message.text}")
        if message.type == "error" and ("Content Security Policy" in message.text or "missing translation" in message.text)
        else None,
    )
    return problems


async def new_page(browser, base_url: str, *, phone: bool = False, language: str = "en", storage: dict[str, str] | None = None):
    """A page in a fresh browser profile whose browser prefers ``language``, on a phone or a desktop;
    ``storage`` pre-sets ``muster.*`` localStorage keys. Returns the page and its problems list."""
    context = await browser.new_context(base_url=base_url, locale=BROWSER_LOCALES[language], **(PHONE if phone else DESKTOP))
    context.set_default_timeout(10_000)
    if storage:
        await context.add_init_script("".join(f"localStorage.setItem('muster.{key}', '{value}');" for key, value in storage.items()))
    page = await context.new_page()
    return page, watch_problems(page)


@pytest.fixture
async def page(browser, base_url):
    """A fresh browser profile (empty localStorage). Fails the test on any script error, CSP violation or missing translation."""
    page, problems = await new_page(browser, base_url)
    yield page
    await page.context.close()
    assert problems == []


async def open_signed_in(browser, base_url: str, person, path: str, *, phone: bool = False, language: str = "en", live: bool = True, **storage: str):
    """``path`` in a new browser profile already signed in as ``person`` (``storage`` adds ``muster.*`` keys),
    once the page says it is live (unless ``live=False``). Returns the page and a list that collects its
    script errors, CSP violations and missing translations."""
    token = person.headers["Authorization"].removeprefix("Bearer ")
    page, problems = await new_page(browser, base_url, phone=phone, language=language, storage={"token": token, **storage})
    await page.goto(path)
    if live:
        await expect(page.locator("body[data-live='true']")).to_have_count(1)
    return page, problems


async def assert_fits_the_screen(page) -> None:
    """Nothing makes the page scroll sideways (on a phone, the usual sign of a layout that does not fit)."""
    widths = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]}px wide on a {widths[1]}px screen"


LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


async def assert_no_english(page, *, allowed: tuple[str, ...] = (), data: str = "") -> None:
    """The visible text (and the title) holds no Latin word except the product's name, ``allowed`` words,
    and the text of elements matching the selector ``data`` (what people wrote: names, titles, messages)."""
    text = await page.evaluate("document.title + '\\n' + document.body.innerText")
    written = await page.locator(data).all_inner_texts() if data else []
    for word in sorted({*written, "Muster", "English", *allowed}, key=len, reverse=True):
        text = text.replace(word, " ")
    left = sorted(set(LATIN_WORD.findall(text)))
    assert left == [], f"English left on a Chinese page: {left}"


@pytest.fixture
def screenshots(tmp_path) -> Path:
    """Where tests save screenshots: MUSTER_TEST_SCREENSHOTS if set (to look at them), else the test's tmp dir."""
    folder = Path(os.environ.get("MUSTER_TEST_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
