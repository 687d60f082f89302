"""Guests: invite links scoped to one thing, guest sessions, and what a guest token cannot do."""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re

import pytest
from sqlalchemy import update

from server.accounts.guests import register_guest_scope
from server.accounts.models import DeviceSession, GuestInvite, User
from server.api import EndpointSpec
from server.db import utcnow
from server.gateway.frames import CLOSE_UNAUTHENTICATED
from tests.factories import make_org, person
from tests.server.gateway.sockets import connect
from tests.server.accounts.conftest import THING_FOR_ADMINS, THING_FOR_MEMBERS, check_test_thing, member_headers


async def invite(client, org_id: int, headers, scope_kind="test-thing", scope_id=THING_FOR_MEMBERS, **extra):
    body = {"scope_kind": scope_kind, "scope_id": scope_id} | extra
    return await client.post(f"/api/v1/orgs/{org_id}/guest-invites", json=body, headers=headers)


async def join(client, token: str, name: str = "Visitor"):
    return await client.post("/api/v1/guest-sessions", json={"invite_token": token, "display_name": name})


async def setup_org_with_invite(client, db, **extra):
    owner = await person(client, db)
    org = await make_org(db, owner.user)
    resp = await invite(client, org.id, owner.headers, **extra)
    assert resp.status == 201, await resp.text()
    return owner, org, await resp.json()


async def test_invite_returns_a_link_token_stored_only_as_its_hash(client, db, backend, guest_scope):
    owner, org, created = await setup_org_with_invite(client, db)

    assert created["url"] == f"https://muster.example.org/join#{created['token']}"
    async with db.transaction(org_id=org.id) as tx:
        row = await tx.session.get(GuestInvite, created["id"])
    assert row.token_hash == hashlib.sha256(created["token"].encode()).hexdigest()
    assert created["token"] not in {row.token_hash, row.scope_kind}
    assert row.created_by == owner.id and row.uses == 0


async def test_unknown_scope_kind_is_400_naming_the_field(client, db, backend, guest_scope):
    owner = await person(client, db)
    org = await make_org(db, owner.user)

    resp = await invite(client, org.id, owner.headers, scope_kind="spaceship")

    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["field"] == "scope_kind" and "test-thing" in error["message"]


async def test_scope_check_decides_who_may_invite_to_what(client, db, backend, guest_scope):
    owner = await person(client, db)
    org = await make_org(db, owner.user)
    _, member = await member_headers(client, db, org.id)

    assert (await invite(client, org.id, member, scope_id=THING_FOR_MEMBERS)).status == 201
    assert (await invite(client, org.id, member, scope_id=THING_FOR_ADMINS)).status == 403
    assert (await invite(client, org.id, owner.headers, scope_id=THING_FOR_ADMINS)).status == 201
    assert (await invite(client, org.id, owner.headers, scope_id=777)).status == 404


async def test_outsider_cannot_invite_into_an_org(client, db, backend, guest_scope):
    owner = await person(client, db)
    org = await make_org(db, owner.user)
    outsider = await person(client, db)
    assert (await invite(client, org.id, outsider.headers)).status == 404


async def test_guest_session_is_a_guest_user_scoped_to_the_invite(client, db, backend, guest_scope):
    _, org, created = await setup_org_with_invite(client, db)

    resp = await join(client, created["token"], "Dr. Visitor")

    assert resp.status == 201
    body = await resp.json()
    assert body["scope"] == {"org_id": org.id, "kind": "test-thing", "id": THING_FOR_MEMBERS}
    assert body["user"]["kind"] == "guest" and body["user"]["email"] is None and body["user"]["name"] == "Dr. Visitor"
    async with db.transaction() as tx:
        user = await tx.session.get(User, body["user"]["id"])
    assert user.password_hash is None
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status == 200 and (await me.json())["kind"] == "guest"


async def test_guest_can_read_its_org_and_nothing_else(client, db, backend, guest_scope):
    owner, org, created = await setup_org_with_invite(client, db)
    other_org = await make_org(db, owner.user)
    guest = {"Authorization": f"Bearer {(await (await join(client, created['token'])).json())['token']}"}
    owner_device = (await (await client.get("/api/v1/me/devices", headers=owner.headers)).json())[0]["id"]

    assert (await client.get(f"/api/v1/orgs/{org.id}", headers=guest)).status == 200
    assert (await client.get("/api/v1/me", headers=guest)).status == 200
    assert (await client.get("/api/v1/orgs", headers=guest)).status == 403
    assert (await client.get("/api/v1/me/devices", headers=guest)).status == 403
    assert (await client.delete(f"/api/v1/me/devices/{owner_device}", headers=guest)).status == 403
    assert (await invite(client, org.id, guest)).status == 403
    assert (await client.delete(f"/api/v1/orgs/{org.id}/guest-invites/{created['id']}", headers=guest)).status == 403
    assert (await client.get(f"/api/v1/orgs/{other_org.id}", headers=guest)).status == 404
    assert (await client.get("/api/v1/me", headers=owner.headers)).status == 200


async def test_every_people_only_or_role_restricted_route_refuses_a_guest(client, db, app, backend, guest_scope):
    _, org, created = await setup_org_with_invite(client, db)
    guest = {"Authorization": f"Bearer {(await (await join(client, created['token'])).json())['token']}"}
    checked = 0
    for route in app.router.routes():
        spec: EndpointSpec | None = getattr(route.handler, "__muster_endpoint__", None)
        if spec is None or route.resource is None or not (spec.auth == "user" or spec.role is not None):
            continue
        path = route.resource.canonical.replace("{org_id}", str(org.id))
        path = re.sub(r"{\w+}", "1", path)
        resp = await client.request(route.method, path, json={}, headers=guest)
        assert resp.status == 403, f"{route.method} {route.resource.canonical} answered a guest {resp.status}"
        checked += 1
    assert checked >= 5


async def test_expired_invite_is_gone(client, db, backend, guest_scope):
    _, org, created = await setup_org_with_invite(client, db, expires_in_s=60)
    async with db.transaction(org_id=org.id) as tx:
        await tx.session.execute(update(GuestInvite).values(expires_at=utcnow() - dt.timedelta(seconds=1)))

    resp = await join(client, created["token"])

    assert resp.status == 410
    assert (await resp.json())["error"] == {"code": "gone", "message": "this invite link has expired; ask whoever sent it for a new one", "field": "invite_token"}


async def test_used_up_invite_is_gone(client, db, backend, guest_scope):
    _, _, created = await setup_org_with_invite(client, db, max_uses=2)

    assert (await join(client, created["token"])).status == 201
    assert (await join(client, created["token"])).status == 201
    third = await join(client, created["token"])

    assert third.status == 410 and "used its 2 times" in (await third.json())["error"]["message"]


async def test_concurrent_joins_cannot_overspend_an_invite(client, db, backend, guest_scope):
    _, _, created = await setup_org_with_invite(client, db, max_uses=1)

    results = await asyncio.gather(*(join(client, created["token"], f"Guest {n}") for n in range(4)))

    assert sorted(r.status for r in results) == [201, 410, 410, 410]


async def test_unknown_invite_token_is_404(client, db, backend, guest_scope):
    resp = await join(client, "not-a-real-token")
    assert resp.status == 404 and (await resp.json())["error"]["field"] == "invite_token"


async def test_revoked_invite_is_gone(client, db, backend, guest_scope):
    owner, org, created = await setup_org_with_invite(client, db)

    resp = await client.delete(f"/api/v1/orgs/{org.id}/guest-invites/{created['id']}", headers=owner.headers)

    assert resp.status == 204
    gone = await join(client, created["token"])
    assert gone.status == 410 and "withdrawn" in (await gone.json())["error"]["message"]


async def test_invite_is_revoked_by_its_creator_or_an_admin_only(client, db, backend, guest_scope):
    owner = await person(client, db)
    org = await make_org(db, owner.user)
    _, creator = await member_headers(client, db, org.id)
    _, bystander = await member_headers(client, db, org.id)
    _, admin = await member_headers(client, db, org.id, role="admin")
    first = await (await invite(client, org.id, creator)).json()
    second = await (await invite(client, org.id, creator)).json()

    assert (await client.delete(f"/api/v1/orgs/{org.id}/guest-invites/{first['id']}", headers=bystander)).status == 403
    assert (await client.delete(f"/api/v1/orgs/{org.id}/guest-invites/{first['id']}", headers=creator)).status == 204
    assert (await client.delete(f"/api/v1/orgs/{org.id}/guest-invites/{second['id']}", headers=admin)).status == 204
    assert (await join(client, second["token"])).status == 410


async def test_another_orgs_invite_cannot_be_revoked(client, db, backend, guest_scope):
    _, _, created = await setup_org_with_invite(client, db)
    stranger = await person(client, db)
    own_org = await make_org(db, stranger.user)

    resp = await client.delete(f"/api/v1/orgs/{own_org.id}/guest-invites/{created['id']}", headers=stranger.headers)

    assert resp.status == 404
    assert (await join(client, created["token"])).status == 201


async def test_invite_expiry_and_uses_are_validated(client, db, backend, guest_scope):
    owner = await person(client, db)
    org = await make_org(db, owner.user)
    too_short = await invite(client, org.id, owner.headers, expires_in_s=5)
    no_uses = await invite(client, org.id, owner.headers, max_uses=0)
    assert (await too_short.json())["error"]["field"] == "expires_in_s"
    assert (await no_uses.json())["error"]["field"] == "max_uses"


def test_a_scope_kind_can_be_registered_once(guest_scope):
    with pytest.raises(ValueError, match="already registered"):
        register_guest_scope("test-thing", check_test_thing)
    with pytest.raises(ValueError, match="characters"):
        register_guest_scope("Bad Kind!", check_test_thing)


async def test_revoking_an_invite_signs_out_its_guests_and_closes_their_sockets(client, db, backend, guest_scope):
    owner, org, created = await setup_org_with_invite(client, db)
    other = await (await invite(client, org.id, owner.headers)).json()
    tokens = [(await (await join(client, created["token"], name)).json())["token"] for name in ("One", "Two")]
    bystander = {"Authorization": f"Bearer {(await (await join(client, other['token'])).json())['token']}"}
    ws_url = str(client.make_url("/api/v1/ws"))
    sockets = [await connect(client.session, ws_url, token) for token in tokens]
    for socket in sockets:
        await socket.until_ready()

    resp = await client.delete(f"/api/v1/orgs/{org.id}/guest-invites/{created['id']}", headers=owner.headers)

    assert resp.status == 204
    for socket in sockets:
        (heard,) = await socket.events(1)
        assert heard["event"] == "session.revoked"
        assert await socket.closed_with() == CLOSE_UNAUTHENTICATED
    for token in tokens:
        assert (await client.get(f"/api/v1/orgs/{org.id}", headers={"Authorization": f"Bearer {token}"})).status == 401
        assert await (await connect(client.session, ws_url, token)).closed_with() == CLOSE_UNAUTHENTICATED
    assert (await client.get(f"/api/v1/orgs/{org.id}", headers=bystander)).status == 200


async def test_a_guest_session_ends_a_fixed_time_after_it_opened_however_it_is_used(client, db, settings, backend, guest_scope):
    _, org, created = await setup_org_with_invite(client, db, expires_in_s=30 * 24 * 3600)
    body = await (await join(client, created["token"])).json()
    guest = {"Authorization": f"Bearer {body['token']}"}
    async with db.transaction() as tx:
        opened = await tx.session.get(DeviceSession, body["session_id"])
    assert abs(opened.expires_at - opened.created_at - dt.timedelta(hours=settings.guest_session_hours)) < dt.timedelta(seconds=5)

    async with db.transaction() as tx:  # used after a long quiet spell: a person's session would slide forward now
        await tx.session.execute(update(DeviceSession).where(DeviceSession.id == body["session_id"]).values(last_seen_at=utcnow() - dt.timedelta(hours=1)))
    assert (await client.get(f"/api/v1/orgs/{org.id}", headers=guest)).status == 200
    async with db.transaction() as tx:
        used = await tx.session.get(DeviceSession, body["session_id"])
    assert used.expires_at == opened.expires_at and used.last_seen_at > opened.created_at

    async with db.transaction() as tx:
        await tx.session.execute(update(DeviceSession).where(DeviceSession.id == body["session_id"]).values(expires_at=utcnow()))
    assert (await client.get(f"/api/v1/orgs/{org.id}", headers=guest)).status == 401


async def test_a_guest_session_never_outlives_its_invite(client, db, backend, guest_scope):
    _, _, created = await setup_org_with_invite(client, db, expires_in_s=600)
    body = await (await join(client, created["token"])).json()
    async with db.transaction() as tx:
        session = await tx.session.get(DeviceSession, body["session_id"])
        invite_row = await tx.session.get(GuestInvite, created["id"])
    assert session.expires_at == invite_row.expires_at


async def test_a_guest_socket_closes_when_its_session_ends(client, db, backend, guest_scope):
    _, org, created = await setup_org_with_invite(client, db)
    body = await (await join(client, created["token"])).json()
    async with db.transaction() as tx:
        await tx.session.execute(update(DeviceSession).where(DeviceSession.id == body["session_id"]).values(expires_at=utcnow() + dt.timedelta(seconds=1)))
    socket = await connect(client.session, str(client.make_url("/api/v1/ws")), body["token"])
    await socket.until_ready()
    assert await socket.closed_with(timeout=5) == CLOSE_UNAUTHENTICATED
