"""The pages' WebSocket client (server/web/static/live.js) in Chromium: a device that comes back after the events it
missed were pruned is told to resync, reloads its state once, and goes on from the stream's position."""
from __future__ import annotations

import asyncio

from playwright.async_api import expect

from server.gateway.stream import stream_state
from tests.factories import person, sign_in
from tests.server.gateway.test_pruning import emit_many, prune, watermark
from tests.web.conftest import open_signed_in


async def wait_until(page, expression: str, value, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (seen := await page.evaluate(expression)) != value:
        assert asyncio.get_running_loop().time() < deadline, f"{expression} is {seen!r}, not {value!r}"
        await asyncio.sleep(0.05)


async def test_a_page_back_after_its_events_were_pruned_reloads_its_state_once(browser, base_url, client, db, app):
    alice = await person(client, db)
    page, problems = await open_signed_in(browser, base_url, alice, "/account")
    await expect(page.locator("#sessions li")).to_have_count(1)
    await page.goto("/healthz")  # the device goes away, having seen event 3
    await page.evaluate("localStorage.setItem('muster.user_seq', '3')")
    await emit_many(db, [alice.id], 20, days_ago=40)
    await emit_many(db, [alice.id], 2)
    await prune(app, db)
    assert await watermark(db, alice.id) == 20
    await sign_in(client, alice.email, device_name="Tablet")  # meanwhile: the page must show this device when back
    async with db.transaction() as tx:
        position = str((await stream_state(tx, alice.id)).last_seq)

    loads = []
    page.on("load", lambda _: loads.append(page.url))
    await page.goto("/account")  # comes back: the hello says 3, below what is kept
    await expect(page.locator("body[data-live='true']")).to_have_count(1)
    await wait_until(page, "localStorage.getItem('muster.user_seq')", position)
    await expect(page.locator("#sessions li")).to_have_count(2)
    assert len(loads) == 2 and loads[0] == loads[1], loads  # the page, and the reload the resync made; no more
    await page.evaluate("new Promise((resolve) => setTimeout(resolve, 1500))")
    assert len(loads) == 2 and await page.evaluate("localStorage.getItem('muster.user_seq')") == position
    assert problems == []
