"""Live dashboards: a round's changes are published once per window, whatever the number of submissions, and reach its watchers."""
from __future__ import annotations

import asyncio
import json
import uuid

import aiohttp
from sqlalchemy import select

from server.appkeys import BUS
from server.forms.live import CHANNEL, ROUND_WATCH
from server.orgs.models import Membership
from tests.server.forms.rounds_world import WELL, make_school, send_round
from tests.server.orgs.conftest import join, ok


async def test_many_changes_in_a_window_are_one_bus_message(app, client):
    heard: list[dict] = []
    app[BUS].subscribe(CHANNEL, lambda payload: heard.append(json.loads(payload)))
    for _ in range(100):
        app[ROUND_WATCH].changed(7)
    app[ROUND_WATCH].changed(8)
    await asyncio.sleep(0.8)
    assert heard == [{"rounds": [7, 8]}]


async def hello(http, client, person) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(str(client.make_url("/api/v1/ws")))
    await ws.send_str(json.dumps({"type": "hello", "token": person.headers["Authorization"].removeprefix("Bearer "), "user_seq": 0}))
    while (await ws.receive_json(timeout=5))["type"] != "ready":
        pass
    return ws


async def next_of(ws, kind: str) -> dict:
    while True:
        frame = await ws.receive_json(timeout=5)
        if frame["type"] in (kind, "error"):
            return frame


async def test_a_watcher_of_the_round_hears_it_changed_and_a_member_may_not_watch(client, db):
    school = await make_school(client, db)
    rid = (await send_round(client, school))["id"]
    async with aiohttp.ClientSession() as http:
        watcher = await hello(http, client, school.org.owner)
        await watcher.send_str(json.dumps({"type": "forms.watch", "round_id": rid, "ref": 1}))
        assert (await next_of(watcher, "forms.watching"))["round_id"] == rid
        nosy = await hello(http, client, await join(db, school.org.id))
        await nosy.send_str(json.dumps({"type": "forms.watch", "round_id": rid, "ref": 2}))
        assert (await next_of(nosy, "forms.watching"))["type"] == "error"
        for person in school.people["n1"]:
            body = {"client_id": uuid.uuid4().hex, "answers": WELL}
            await ok(await client.post(school.url(f"/rounds/{rid}/submissions"), json=body, headers=person.headers), 201)
        assert await next_of(watcher, "forms.round.changed") == {"type": "forms.round.changed", "round_id": rid}
        await watcher.close()
        await nosy.close()


async def test_a_watcher_removed_from_the_organisation_hears_nothing_more(client, db):
    school = await make_school(client, db)
    rid = (await send_round(client, school))["id"]
    admin = await join(db, school.org.id, role="admin")
    async with db.transaction(org_id=school.org.id) as tx:
        member_id = await tx.session.scalar(select(Membership.id).where(Membership.user_id == admin.id))
    async with aiohttp.ClientSession() as http:
        owner, leaver = await hello(http, client, school.org.owner), await hello(http, client, admin)
        for i, ws in enumerate((owner, leaver)):
            await ws.send_str(json.dumps({"type": "forms.watch", "round_id": rid, "ref": i}))
            assert (await next_of(ws, "forms.watching"))["round_id"] == rid
        await ok(await client.delete(school.org.url(f"/members/{member_id}"), headers=school.org.owner.headers), 204)
        await asyncio.sleep(0.2)  # the revocation reaches this node over the bus
        person = school.people["n1"][0]
        body = {"client_id": uuid.uuid4().hex, "answers": WELL}
        await ok(await client.post(school.url(f"/rounds/{rid}/submissions"), json=body, headers=person.headers), 201)
        assert await next_of(owner, "forms.round.changed") == {"type": "forms.round.changed", "round_id": rid}
        try:
            frame = await next_of(leaver, "forms.round.changed")
        except TimeoutError:
            frame = None
        assert frame is None
        await owner.close()
        await leaver.close()
