"""Livestreams from a group: who may start, manage and watch one; members told with the watch link; the stream key;
the public link for outsiders as a guest of that stream only; ending or revoking takes effect at once."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from rooms.models import LiveStream
from server.accounts.models import DeviceSession
from server.gateway.models import UserEvent
from server.groups.models import GroupMember
from server.orgs.models import Membership
from tests.server.groups.conftest import create_group, make_people_org, signed_in, join_org

SVG = "<svg"


def url(org, tail: str = "") -> str:
    return org.url("/streams" + tail)


async def start(client, org, group, by=None, **fields):
    resp = await client.post(url(org), json={"group_id": group["id"], "title": "Maths 3B", **fields}, headers=(by or org.owner).headers)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def events(db, who, kind: str) -> list[dict]:
    async with db.transaction() as tx:
        return [row for row in await tx.session.scalars(select(UserEvent.data).where(UserEvent.user_id == who.id, UserEvent.type == kind))]


async def test_a_group_owner_goes_live_and_every_member_is_told_with_the_watch_link(client, db, backend):
    org = await make_people_org(client, db, 3)
    group = await create_group(client, org)
    stream = await start(client, org, group)

    assert stream["status"] == "live" and stream["host_id"] == org.owner.id and stream["stream_key"].startswith("mlk_")
    assert stream["watch_url"].endswith(f"/live/{stream['id']}") and stream["whip_url"].endswith(f"/whip/{stream['id']}")
    for member in org.people:
        (told,) = await events(db, member, "live.started")
        assert told["stream_id"] == stream["id"] and told["watch_url"] == stream["watch_url"] and told["title"] == "Maths 3B"
    assert await events(db, org.owner, "live.started") == []  # the host is not told of their own stream
    async with db.transaction() as tx:
        stored = await tx.session.scalar(select(LiveStream).where(LiveStream.id == stream["id"]))
    assert stream["stream_key"] not in (stored.key_hash or "") and len(stored.key_hash) == 64  # kept hashed

    watched = await client.get(url(org, f"/{stream['id']}"), headers=org.people[0].headers)
    body = await watched.json()
    assert watched.status == 200 and body["whip_url"] is None and "stream_key" not in body  # a viewer never sees where to publish
    listed = await (await client.get(url(org), headers=org.people[1].headers)).json()
    assert [s["id"] for s in listed] == [stream["id"]]


async def test_a_scheduled_stream_is_announced_then_goes_live_when_the_host_starts_it(client, db, backend):
    org = await make_people_org(client, db, 2)
    group = await create_group(client, org)
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)).isoformat()
    stream = await start(client, org, group, scheduled_at=when)
    assert stream["status"] == "scheduled"
    assert [e["stream_id"] for e in await events(db, org.people[0], "live.scheduled")] == [stream["id"]]

    started = await client.post(url(org, f"/{stream['id']}/start"), headers=org.owner.headers)
    assert started.status == 200 and (await started.json())["status"] == "live"
    again = await client.post(url(org, f"/{stream['id']}/start"), headers=org.owner.headers)
    assert again.status == 200
    assert len(await events(db, org.people[0], "live.started")) == 1  # told once


async def test_only_the_groups_owner_or_admins_start_streams_and_plain_members_or_outsiders_cannot(client, db, backend):
    org = await make_people_org(client, db, 3)
    group = await create_group(client, org)
    member, admin_of_group = org.people[0], org.people[1]
    async with db.transaction(org_id=org.id) as tx:
        (await tx.session.scalar(select(GroupMember).where(GroupMember.group_id == group["id"], GroupMember.user_id == admin_of_group.id))).role = "admin"

    refused = await client.post(url(org), json={"group_id": group["id"], "title": "x"}, headers=member.headers)
    assert refused.status == 403
    assert (await start(client, org, group, by=admin_of_group))["host_id"] == admin_of_group.id

    other_group = await create_group(client, org, member_ids=[org.people[2].id])
    outsider = await client.post(url(org), json={"group_id": other_group["id"], "title": "x"}, headers=member.headers)
    assert outsider.status == 404  # a group they are not in does not exist for them


async def test_another_organisations_ids_and_a_stream_of_a_group_one_is_not_in_are_404(client, db, backend):
    org = await make_people_org(client, db, 2)
    group = await create_group(client, org, member_ids=[org.people[0].id])
    stream = await start(client, org, group)
    not_in_group = org.people[1]
    for path in ("", "/watch-qr"):
        assert (await client.get(url(org, f"/{stream['id']}{path}"), headers=not_in_group.headers)).status == 404
    assert (await client.post(url(org, f"/{stream['id']}/end"), headers=not_in_group.headers)).status == 404

    other = await make_people_org(client, db, 1)
    for method, path in (("GET", ""), ("POST", "/end"), ("POST", "/stream-key"), ("DELETE", "/stream-key"), ("GET", "/watch-qr"),
                         ("PATCH", ""), ("POST", "/public-links")):
        resp = await client.request(method, url(org, f"/{stream['id']}{path}"), json={} if method in ("PATCH", "POST") else None,
                                    headers=other.owner.headers)
        assert resp.status == 404, (method, path, resp.status)
        resp = await client.request(method, url(other, f"/{stream['id']}{path}"), json={"title": "y"} if method == "PATCH" else {},
                                    headers=other.owner.headers)
        assert resp.status == 404, (method, path, resp.status)
    listed = await (await client.get(url(other), headers=other.owner.headers)).json()
    assert listed == []


async def test_a_viewer_who_leaves_the_group_loses_the_stream_at_the_next_request(client, db, backend):
    org = await make_people_org(client, db, 2)
    group = await create_group(client, org)
    stream = await start(client, org, group)
    viewer = org.people[0]
    assert (await client.get(url(org, f"/{stream['id']}"), headers=viewer.headers)).status == 200
    removed = await client.post(org.url(f"/groups/{group['id']}/members/remove"), json={"user_ids": [viewer.id]}, headers=org.owner.headers)
    assert removed.status in (200, 204), await removed.text()
    assert (await client.get(url(org, f"/{stream['id']}"), headers=viewer.headers)).status == 404


async def test_the_members_link_has_a_qr_code_and_the_key_is_renewed_or_revoked_by_the_host_only(client, db, backend):
    org = await make_people_org(client, db, 1)
    group = await create_group(client, org)
    stream = await start(client, org, group)
    qr = await (await client.get(url(org, f"/{stream['id']}/watch-qr"), headers=org.people[0].headers)).json()
    assert qr["url"] == stream["watch_url"] and qr["svg"].lstrip().startswith(("<?xml", SVG))

    assert (await client.post(url(org, f"/{stream['id']}/stream-key"), headers=org.people[0].headers)).status == 403
    renewed = await (await client.post(url(org, f"/{stream['id']}/stream-key"), headers=org.owner.headers)).json()
    assert renewed["stream_key"] != stream["stream_key"] and renewed["whip_url"] == stream["whip_url"]
    assert (await client.delete(url(org, f"/{stream['id']}/stream-key"), headers=org.owner.headers)).status == 204
    got = await (await client.get(url(org, f"/{stream['id']}"), headers=org.owner.headers)).json()
    assert got["has_key"] is False


async def guest_by_link(client, link: dict, name: str = "Grandma") -> dict:
    token = link["url"].split("#", 1)[1]
    resp = await client.post("/api/v1/guest-sessions", json={"invite_token": token, "display_name": name})
    assert resp.status in (200, 201), await resp.text()
    return {"Authorization": f"Bearer {(await resp.json())['token']}"}


async def test_a_public_link_lets_an_outsider_watch_that_one_stream_and_withdrawing_it_signs_them_out_at_once(client, db, backend):
    org = await make_people_org(client, db, 1)
    group = await create_group(client, org)
    closed = await start(client, org, group)
    refused = await client.post(url(org, f"/{closed['id']}/public-links"), json={}, headers=org.owner.headers)
    assert refused.status == 403 and (await refused.json())["error"]["code"] == "guests_not_allowed"

    stream = await start(client, org, group, allow_guests=True)
    made = await client.post(url(org, f"/{stream['id']}/public-links"), json={"expires_in_hours": 2}, headers=org.owner.headers)
    link = await made.json()
    assert made.status == 201 and "/join#" in link["url"] and SVG in link["svg"]
    guest = await guest_by_link(client, link)
    assert (await client.get(url(org, f"/{stream['id']}"), headers=guest)).status == 200
    assert (await client.get(url(org, f"/{closed['id']}"), headers=guest)).status == 404  # that stream only
    assert (await client.get(url(org), headers=guest)).status == 403
    assert (await client.get(org.url(f"/groups/{group['id']}"), headers=guest)).status == 404

    by_member = await client.delete(url(org, f"/{stream['id']}/public-links/{link['public_link_id']}"), headers=org.people[0].headers)
    assert by_member.status == 403
    withdrawn = await client.delete(url(org, f"/{stream['id']}/public-links/{link['public_link_id']}"), headers=org.owner.headers)
    assert withdrawn.status == 204
    assert (await client.get(url(org, f"/{stream['id']}"), headers=guest)).status == 401  # signed out
    assert (await client.delete(url(org, f"/{stream['id']}/public-links/{link['public_link_id'] + 1000}"), headers=org.owner.headers)).status == 404


async def test_ending_the_stream_or_disallowing_guests_signs_its_guests_out_and_the_end_is_final(client, db, backend):
    org = await make_people_org(client, db, 1)
    group = await create_group(client, org)
    stream = await start(client, org, group, allow_guests=True)
    link = await (await client.post(url(org, f"/{stream['id']}/public-links"), json={}, headers=org.owner.headers)).json()
    guest = await guest_by_link(client, link)
    off = await client.patch(url(org, f"/{stream['id']}"), json={"allow_guests": False}, headers=org.owner.headers)
    assert off.status == 200 and (await off.json())["allow_guests"] is False
    assert (await client.get(url(org, f"/{stream['id']}"), headers=guest)).status == 401

    await client.patch(url(org, f"/{stream['id']}"), json={"allow_guests": True}, headers=org.owner.headers)
    link = await (await client.post(url(org, f"/{stream['id']}/public-links"), json={}, headers=org.owner.headers)).json()
    guest = await guest_by_link(client, link)
    ended = await client.post(url(org, f"/{stream['id']}/end"), headers=org.owner.headers)
    body = await ended.json()
    assert ended.status == 200 and body["status"] == "ended" and body["has_key"] is False
    assert (await client.get(url(org, f"/{stream['id']}"), headers=guest)).status == 401
    async with db.transaction() as tx:
        open_sessions = await tx.session.scalars(select(DeviceSession.id).where(
            DeviceSession.guest_scope_kind == "live", DeviceSession.guest_scope_id == stream["id"], DeviceSession.revoked_at.is_(None)))
        assert list(open_sessions) == []
    for method, path, json in (("POST", "/stream-key", None), ("POST", "/public-links", {}), ("PATCH", "", {"title": "again"})):
        assert (await client.request(method, url(org, f"/{stream['id']}{path}"), json=json, headers=org.owner.headers)).status in (403, 410)
    assert [s["id"] for s in await (await client.get(url(org, "?ended=true"), headers=org.owner.headers)).json()] == [stream["id"]]


async def test_a_host_who_leaves_the_organisation_ends_their_streams(client, db, backend):
    org = await make_people_org(client, db, 1)
    teacher = await signed_in(db, "Teacher")
    await join_org(db, org.id, teacher.user)
    group = await create_group(client, org, member_ids=[teacher.id, org.people[0].id])
    async with db.transaction(org_id=org.id) as tx:
        (await tx.session.scalar(select(GroupMember).where(GroupMember.group_id == group["id"], GroupMember.user_id == teacher.id))).role = "admin"
    stream = await start(client, org, group, by=teacher)
    async with db.transaction(org_id=org.id) as tx:
        membership_id = await tx.session.scalar(select(Membership.id).where(Membership.user_id == teacher.id))
    resp = await client.delete(org.url(f"/members/{membership_id}"), headers=org.owner.headers)
    assert resp.status in (200, 204), await resp.text()
    got = await (await client.get(url(org, f"/{stream['id']}"), headers=org.owner.headers)).json()
    assert got["status"] == "ended" and got["has_key"] is False


async def test_telling_a_group_of_3000_costs_the_statements_of_telling_10(client, db, backend):
    from rooms.live.notices import STARTED, do_tell_members
    from tests.server.groups.conftest import add_bulk_members
    from tests.statements import statements_sent

    org = await make_people_org(client, db, 1)
    costs = []
    for size in (10, 3000):
        group = await create_group(client, org, name=f"{size}", member_ids=[])
        await add_bulk_members(db, org.id, group["id"], size, prefix=f"live-{org.id}-{size}")
        stream = await start(client, org, group)
        async with db.transaction(org_id=org.id) as tx:
            row = await tx.session.scalar(select(LiveStream).where(LiveStream.id == stream["id"]))
            async with statements_sent(db, tx) as statements:
                told = await do_tell_members(tx, row, STARTED, "https://muster.example")
        assert len(told) == size
        costs.append(len(statements))
    assert costs[0] == costs[1], costs


async def test_the_home_page_shows_the_groups_live_stream_first_then_one_starting_within_a_day_and_nothing_to_others(client, db, backend):
    org = await make_people_org(client, db, 2)
    group = await create_group(client, org, member_ids=[org.people[0].id])
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).isoformat()
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).isoformat()
    await start(client, org, group, title="Next week", scheduled_at=later)
    upcoming = await start(client, org, group, title="Reading", scheduled_at=soon)
    live = await start(client, org, group, title="Maths")
    home = await (await client.get(org.url("/home"), headers={**org.people[0].headers, "Accept-Language": "zh-CN"})).json()
    section = next(s for s in home if s["key"] == "livestreams")
    assert section["title"] == "直播"
    assert [(i["title"], i["href"], i["urgent"]) for i in section["items"]] == [
        ("Maths", f"/live/{live['id']}", True), ("Reading", f"/live/{upcoming['id']}", False)]
    others = await (await client.get(org.url("/home"), headers=org.people[1].headers)).json()
    assert all(s["key"] != "livestreams" for s in others)  # not in the group: no section at all
