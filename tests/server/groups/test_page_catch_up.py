"""The group chat page in headless Chromium misses nothing: not what was posted while this node's Redis
subscription was down (it catches up on the ``groups.resync`` frame), nor what was posted while its
socket was gone (it catches up when it reconnects)."""
from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import expect

from server.accounts.auth import Principal
from server.appkeys import BUS, HUB
from server.db import Database
from server.gateway.frames import CLOSE_GOING_AWAY
from server.groups.access import load_group
from server.groups.messages import do_post_message
from server.orgs.access import OrgContext
from tests import services
from tests.server.gateway.test_bus_outage import settings  # noqa: F401  (the app on Redis)
from tests.server.groups.conftest import ward_group
from tests.web.conftest import backend, base_url, browser, live_server, open_signed_in  # noqa: F401  (the page-test fixtures)

pytestmark = pytest.mark.browser


async def test_the_page_catches_up_after_a_bus_outage_and_after_its_socket_drops(app, browser, base_url, db, settings):  # noqa: F811
    async with aiohttp.ClientSession() as http:
        ward = await ward_group(db, http, base_url)
        alice, bob, api, group_id = ward.alice, ward.bob, ward.api, ward.group_id
        page, errors = await open_signed_in(browser, base_url, bob, "/groups", org=ward.org_id)
        await page.click(".group-item")
        await http.post(f"{api}/{group_id}/messages", json={"body": "live"}, headers=alice.headers)
        bodies = page.locator(".message-body")
        await expect(bodies).to_have_text(["live"])

        # Stored while "the bus was down": nothing will announce it, until the node resubscribes and resyncs.
        silent = Database(settings.database_url)
        try:
            async with silent.transaction(org_id=ward.org_id) as tx:
                owner = OrgContext(ward.org_id, Principal(user_id=alice.id, session_id=0, name="Alice"), None, "owner")
                await do_post_message(tx, await load_group(tx, owner, group_id), settings, body="missed")
        finally:
            await silent.close()
        await page.wait_for_timeout(300)
        await expect(bodies).to_have_text(["live"])
        await services.kill_bus_subscriber(app[BUS].subscriber_name)
        await expect(bodies).to_have_text(["live", "missed"])

        # The socket drops (a network blip); a message is posted before the page reconnects.
        for connection in app[HUB].local_connections(bob.id):
            connection.close(CLOSE_GOING_AWAY, "network blip")
        await expect(page.locator("body[data-live='false']")).to_have_count(1)
        await expect(page.locator("#live-state")).to_have_text("connecting…")
        await http.post(f"{api}/{group_id}/messages", json={"body": "while away"}, headers=alice.headers)
        await expect(page.locator("body[data-live='true']")).to_have_count(1)
        await expect(bodies).to_have_text(["live", "missed", "while away"])
    assert errors == []
