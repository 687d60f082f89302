"""An external contact is not a member: every route of the organisation but their chats' reads 404."""
from __future__ import annotations

import re

import pytest
from aiohttp import web

from server.api import EndpointSpec
from tests.server.contacts.conftest import add_contact, outsider
from tests.server.orgs.conftest import new_org, ok

pytestmark = pytest.mark.timeout(300)


def _org_routes(app: web.Application) -> list[tuple[web.AbstractRoute, EndpointSpec]]:
    found = []
    for route in app.router.routes():
        spec: EndpointSpec | None = getattr(route.handler, "__muster_endpoint__", None)
        if spec is not None and route.resource is not None and "{org_id}" in route.resource.canonical and route.method != "HEAD":
            found.append((route, spec))
    return found


async def test_every_organisation_route_not_opened_to_external_contacts_answers_them_404(app, client, db, org):
    parent, _ = await add_contact(client, db, org, org.nurse)
    routes = _org_routes(app)
    assert sum(1 for _, spec in routes if not spec.external) > 30
    wrong = []
    for route, spec in routes:
        if spec.external:
            continue
        url = re.sub(r"\{[a-z_]+\}", "1", route.resource.canonical.replace("{org_id}", str(org.id)))
        async with client.request(route.method, url, json={}, headers=parent.headers) as resp:
            if resp.status != 404:
                wrong.append(f"{route.method} {route.resource.canonical}: {resp.status}")
    assert not wrong, "\n".join(wrong)


async def test_an_external_contact_reaches_only_the_external_groups_they_are_in(client, db, org):
    parent, joined = await add_contact(client, db, org, org.nurse)
    _, other = await add_contact(client, db, org, org.colleague)
    team = await ok(await client.post(org.url("/groups"), json={"name": "Ward", "member_ids": [org.nurse.id]}, headers=org.nurse.headers), 201)
    listed = await ok(await client.get(org.url("/groups"), headers=parent.headers))
    assert [g["id"] for g in listed] == [joined["chat_group_id"]]
    for group_id in (team["id"], other["chat_group_id"]):
        for tail in ("", "/messages", "/members"):
            assert (await client.get(org.url(f"/groups/{group_id}{tail}"), headers=parent.headers)).status == 404
    assert (await client.get(org.url("/members"), headers=parent.headers)).status == 404
    assert (await client.get(org.url("/departments"), headers=parent.headers)).status == 404
    assert (await client.get(org.url("/contacts"), headers=parent.headers)).status == 404
    assert (await client.get("/api/v1/orgs", headers=parent.headers)).status == 200
    assert await (await client.get("/api/v1/orgs", headers=parent.headers)).json() == []
    elsewhere = await new_org(db, "Other Owner")
    assert (await client.get(f"/api/v1/orgs/{elsewhere.id}/groups", headers=parent.headers)).status == 404
    hits = await ok(await client.get(org.url("/group-messages/search?q=hello"), headers=parent.headers))
    assert hits["messages"] == []


async def test_an_external_contact_cannot_join_an_ordinary_group(client, db, org):
    parent, _ = await add_contact(client, db, org, org.nurse)
    team = await ok(await client.post(org.url("/groups"), json={"name": "Ward", "member_ids": []}, headers=org.nurse.headers), 201)
    resp = await client.post(org.url(f"/groups/{team['id']}/members"), json={"user_ids": [parent.id]}, headers=org.nurse.headers)
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "user_ids"
    resp = await client.post(org.url(f"/external-groups/{team['id']}/contacts"), json={"user_ids": [parent.id]}, headers=org.nurse.headers)
    assert resp.status == 400 and "only external groups" in (await resp.json())["error"]["message"]


async def test_a_stranger_is_not_an_external_contact_of_anyone(client, db, org):
    stranger = await outsider(db)
    assert (await client.get(org.url("/groups"), headers=stranger.headers)).status == 404
