"""A person's upcoming meetings: scheduling with invitees and a duration, the list of mine (live first), the home
page's "meetings starting soon", the guest link's QR code, and the migration that adds invitees."""
from __future__ import annotations

import asyncio
import datetime as dt

from alembic import command
from sqlalchemy import select

from server.db import utcnow
from server.db.migrate import alembic_config, upgrade
from server.gateway.models import UserEvent
from tests.factories import person
from tests.rooms.meetings.test_meetings_api import add_member, create, org_with_host
from tests.server.test_migrations import _sql, empty_database_url  # noqa: F401 (a fixture)


def at(hours: float) -> str:
    return (utcnow() + dt.timedelta(hours=hours)).isoformat()


async def upcoming(client, who, org, **query) -> list[dict]:
    resp = await client.get(f"/api/v1/orgs/{org.id}/meetings/upcoming", params=query, headers=who.headers)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_invitees_see_the_meetings_they_were_invited_to_live_first_then_by_start(client, db, backend):
    host, org = await org_with_host(client, db)
    nina, omar = await person(client, db, "Nina"), await person(client, db, "Omar")
    for someone in (nina, omar):
        await add_member(db, org, someone)
    later = await create(client, host, org, title="Budget", scheduled_at=at(30), duration_min=45, invitee_ids=[nina.id])
    soon = await create(client, host, org, title="Ward round", scheduled_at=at(2), invitee_ids=[nina.id, omar.id])
    await create(client, host, org, title="Handover", invitee_ids=[nina.id])
    await create(client, host, org, title="Not for Nina", scheduled_at=at(1))
    await create(client, host, org, title="Long ago", scheduled_at=at(-13), invitee_ids=[nina.id])
    ended = await create(client, host, org, title="Over", invitee_ids=[nina.id])
    assert (await client.post(f"/api/v1/orgs/{org.id}/meetings/{ended['id']}/end", headers=host.headers)).status == 200

    assert later["duration_min"] == 45 and later["invitee_ids"] == [nina.id] and soon["invitee_ids"] == [nina.id, omar.id]
    changed = await client.patch(f"/api/v1/orgs/{org.id}/meetings/{later['id']}", json={"duration_min": 90}, headers=host.headers)
    assert (await changed.json())["duration_min"] == 90
    assert [m["title"] for m in await upcoming(client, nina, org)] == ["Handover", "Ward round", "Budget"]
    assert [m["title"] for m in await upcoming(client, nina, org, within_hours=24)] == ["Handover", "Ward round"]
    assert [m["title"] for m in await upcoming(client, omar, org)] == ["Ward round"]
    mine = [m["title"] for m in await upcoming(client, host, org)]
    assert mine == ["Handover", "Not for Nina", "Ward round", "Budget"]  # the host's own, not the forgotten or ended ones


async def test_invitees_are_told_and_must_be_members(client, db, backend):
    host, org = await org_with_host(client, db)
    nina, stranger = await person(client, db, "Nina"), await person(client, db, "Stranger")
    await add_member(db, org, nina)
    refused = await client.post(f"/api/v1/orgs/{org.id}/meetings", json={"title": "X", "invitee_ids": [nina.id, stranger.id]},
                                headers={**host.headers, "Accept-Language": "zh-CN"})
    body = await refused.json()
    assert refused.status == 400 and body["error"]["field"] == "invitee_ids"
    assert body["error"]["message"] == f"这里只能选择本组织的成员；以下不是成员：{stranger.id}"
    assert await upcoming(client, nina, org) == []  # nothing half-made

    resp = await client.post(f"/api/v1/orgs/{org.id}/meetings", json={"title": "Ward round", "scheduled_at": at(1), "duration_min": 4},
                             headers=host.headers)
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "duration_min"

    meeting = await create(client, host, org, title="Ward round", scheduled_at=at(1), invitee_ids=[nina.id])
    async with db.transaction() as tx:
        told = (await tx.session.execute(select(UserEvent.type, UserEvent.data).where(UserEvent.user_id == nina.id))).all()
    assert told == [("meeting.invited", {"org_id": org.id, "meeting_id": meeting["id"], "title": "Ward round", "scheduled_at": meeting["scheduled_at"]
                                         .replace("Z", "+00:00")})]
    home = await (await client.get(f"/api/v1/orgs/{org.id}/home", headers={**nina.headers, "Accept-Language": "zh-CN"})).json()
    section = next(s for s in home if s["key"] == "meetings")
    assert section["title"] == "即将开始的会议"
    assert [(i["title"], i["href"]) for i in section["items"]] == [("Ward round", "/m/" + meeting["join_url"].rsplit("/m/", 1)[1])]


async def test_the_home_section_puts_live_meetings_first_and_leaves_out_those_after_a_day(client, db, backend):
    host, org = await org_with_host(client, db)
    await create(client, host, org, title="Tomorrow evening", scheduled_at=at(30))
    await create(client, host, org, title="In an hour", scheduled_at=at(1))
    await create(client, host, org, title="Now")
    home = await (await client.get(f"/api/v1/orgs/{org.id}/home", headers=host.headers)).json()
    items = next(s for s in home if s["key"] == "meetings")["items"]
    assert [(i["title"], i["detail"], i["urgent"]) for i in items] == [("Now", "Live now", True), ("In an hour", "", False)]


async def test_the_guest_link_comes_as_a_qr_code_for_members_only(client, db, backend):
    host, org = await org_with_host(client, db)
    meeting = await create(client, host, org)
    qr = await (await client.get(f"/api/v1/orgs/{org.id}/meetings/{meeting['id']}/join-qr", headers=host.headers)).json()
    assert qr["join_url"] == meeting["join_url"] and qr["svg"].startswith("<svg")
    outsider = await person(client, db)
    assert (await client.get(f"/api/v1/orgs/{org.id}/meetings/{meeting['id']}/join-qr", headers=outsider.headers)).status == 404


async def test_invitees_migration_goes_up_and_back_keeping_the_meetings(empty_database_url):  # noqa: F811
    url = empty_database_url
    await asyncio.to_thread(upgrade, url)
    await asyncio.to_thread(command.downgrade, alembic_config(url), "0004_passcode_attempts")
    await _sql(
        url,
        "INSERT INTO organisations (id, name, slug, created_at) VALUES (7, 'O', 'o', CURRENT_TIMESTAMP)",
        "INSERT INTO meetings (id, org_id, title, join_token, locked, lobby_enabled, cap, status, created_at)"
        " VALUES (5, 7, 'M', 't', false, false, 10, 'live', CURRENT_TIMESTAMP)",
    )
    await asyncio.to_thread(upgrade, url)
    assert await _sql(url, "SELECT id, duration_min FROM meetings", "SELECT COUNT(*) FROM meeting_invitees") == [[(5, None)], [(0,)]]
    await asyncio.to_thread(command.downgrade, alembic_config(url), "0004_passcode_attempts")
    assert await _sql(url, "SELECT id, title FROM meetings") == [[(5, "M")]]
