"""Contact links: made by staff, stored as a hash, one-time or multi-use, expiring; their QR codes."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from server.accounts.auth import hash_token
from server.contacts.models import ContactLink
from tests.server.contacts.conftest import make_link, outsider
from tests.server.orgs.conftest import ok


async def test_a_link_is_shown_once_and_stored_only_as_its_hash(client, db, org):
    link = await make_link(client, org, org.nurse)
    assert link["url"].endswith("/c/" + link["token"]) and link["max_uses"] == 1
    async with db.transaction(org_id=org.id) as tx:
        stored = await tx.session.scalar(select(ContactLink).where(ContactLink.id == link["id"]))
    assert stored.token_hash == hash_token(link["token"]) and link["token"] not in stored.token_hash
    listed = await ok(await client.get(org.url("/contact-links"), headers=org.nurse.headers))
    assert [x["id"] for x in listed] == [link["id"]] and "token" not in listed[0]


async def test_a_one_time_link_makes_one_contact_then_is_used_up(client, db, org):
    link = await make_link(client, org, org.nurse)
    first, second = await outsider(db), await outsider(db)
    await ok(await client.post("/api/v1/contact-links/accept", json={"token": link["token"]}, headers=first.headers))
    resp = await client.post("/api/v1/contact-links/accept", json={"token": link["token"]}, headers=second.headers)
    assert resp.status == 410 and "used up" in (await resp.json())["error"]["message"]


async def test_a_multi_use_link_adds_several_people(client, db, org):
    link = await make_link(client, org, org.nurse, max_uses=None)
    for _ in range(3):
        person = await outsider(db)
        await ok(await client.post("/api/v1/contact-links/accept", json={"token": link["token"]}, headers=person.headers))
    page = await ok(await client.get(org.url("/contacts"), headers=org.nurse.headers))
    assert len(page["contacts"]) == 3


async def test_an_expired_withdrawn_or_unknown_link_is_refused_and_says_why(client, db, org):
    person = await outsider(db)
    expired = await make_link(client, org, org.nurse)
    async with db.transaction(org_id=org.id) as tx:
        await tx.session.execute(
            update(ContactLink).where(ContactLink.id == expired["id"]).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    withdrawn = await make_link(client, org, org.nurse)
    await ok(await client.delete(org.url(f"/contact-links/{withdrawn['id']}"), headers=org.nurse.headers), 204)
    for token, status, words in ((expired["token"], 410, "expired"), (withdrawn["token"], 410, "withdrawn"), ("nonsense", 404, "not valid")):
        resp = await client.post("/api/v1/contact-links/accept", json={"token": token}, headers=person.headers)
        body = await resp.json()
        assert resp.status == status and words in body["error"]["message"] and body["error"]["field"] == "token"


async def test_only_its_maker_or_an_admin_withdraws_a_link(client, org):
    link = await make_link(client, org, org.nurse)
    assert (await client.delete(org.url(f"/contact-links/{link['id']}"), headers=org.colleague.headers)).status == 403
    await ok(await client.delete(org.url(f"/contact-links/{link['id']}"), headers=org.admin.headers), 204)


async def test_a_link_longer_than_the_servers_limit_is_refused(client, org):
    resp = await client.post(org.url("/contact-links"), json={"expires_in_s": 31 * 86400}, headers=org.nurse.headers)
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "expires_in_s"


async def test_the_qr_code_is_drawn_for_the_callers_own_live_link_only(client, db, org):
    link = await make_link(client, org, org.nurse)
    svg = await client.post(org.url("/contact-links/qr"), json={"token": link["token"]}, headers=org.nurse.headers)
    assert svg.status == 200 and svg.content_type == "image/svg+xml" and b"<svg" in await svg.read()
    png = await client.post(org.url("/contact-links/qr"), json={"token": link["token"], "format": "png"}, headers=org.nurse.headers)
    assert png.status == 200 and (await png.read()).startswith(b"\x89PNG")
    assert (await client.post(org.url("/contact-links/qr"), json={"token": link["token"]}, headers=org.colleague.headers)).status == 404
    stranger = await outsider(db)
    assert (await client.post(org.url("/contact-links/qr"), json={"token": link["token"]}, headers=stranger.headers)).status == 404
    assert (await client.post(org.url("/contact-links/qr"), json={"token": link["token"]})).status == 401


async def test_the_landing_page_learns_who_the_link_is_from_before_signing_in(client, org):
    link = await make_link(client, org, org.nurse)
    seen = await ok(await client.post("/api/v1/contact-links/preview", json={"token": link["token"]}))
    assert seen["staff_name"] == "Nurse Li" and seen["org_name"].startswith("Org of")
    page = await client.get(f"/c/{link['token']}")
    assert page.status == 200 and page.content_type == "text/html"
