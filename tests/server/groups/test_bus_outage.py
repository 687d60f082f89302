"""A group message stored while this node's Redis subscription is down never arrives live; once the
bus is back, the node tells its devices where each group stands and they catch up from history."""
from __future__ import annotations

from server.accounts.auth import Principal
from server.appkeys import BUS
from server.db import Database
from server.groups.access import load_group
from server.groups.messages import do_post_message
from server.orgs.access import OrgContext
from tests import services
from tests.server.gateway.sockets import connect, token_of
from tests.server.gateway.test_bus_outage import settings  # noqa: F401  (the app on Redis)
from tests.server.groups.conftest import create_group, post


async def _group_frame(device) -> dict:
    while True:
        frame = await device.next_frame(timeout=10)
        if frame["type"].startswith("group"):
            return frame


async def test_devices_catch_up_on_group_messages_missed_while_the_bus_was_down(client, app, org, settings):  # noqa: F811
    group = await create_group(client, org, member_ids=[org.people[0].id])
    device = await connect(client.session, str(client.make_url("/api/v1/ws")), token_of(org.people[0].headers))
    await device.until_ready()
    await post(client, org, group["id"], org.owner, "live")
    seen = (await _group_frame(device))["message"]["change_seq"]

    # Stored while "the bus was down": no bus message will ever announce it.
    silent = Database(settings.database_url)
    try:
        async with silent.transaction(org_id=org.id) as tx:
            owner = OrgContext(org.id, Principal(user_id=org.owner.id, session_id=0, name="Owner"), None, "owner")
            await do_post_message(tx, await load_group(tx, owner, group["id"]), settings, body="missed")
    finally:
        await silent.close()
    await services.kill_bus_subscriber(app[BUS].subscriber_name)

    resync = await _group_frame(device)
    assert resync == {
        "type": "groups.resync",
        "groups": [{"org_id": org.id, "group_id": group["id"], "last_seq": 2, "last_change_seq": 2}],
    }
    url = org.url(f"/groups/{group['id']}/messages")
    missed = await (await client.get(url, params={"changed_after": str(seen)}, headers=org.people[0].headers)).json()
    assert [m["body"] for m in missed["messages"]] == ["missed"]
    await post(client, org, group["id"], org.owner, "after")  # and live delivery works again
    assert (await _group_frame(device))["message"]["body"] == "after"
