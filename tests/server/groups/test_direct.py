"""Direct chats: one per pair of people of the organisation, found or made by either of them (at once too),
named after the other person, two people for good; forwarding to a person goes there."""
from __future__ import annotations

import asyncio

from sqlalchemy import func, select, update

from server.groups.models import Group
from server.orgs.models import Membership
from tests.server.groups.conftest import create_group, join_org, post, signed_in
from tests.factories import make_org


async def open_chat(client, org, by, user_id):
    return await client.post(org.url("/direct-chats"), json={"user_id": user_id}, headers=by.headers)


async def test_a_direct_chat_is_made_once_per_pair_whoever_opens_it_and_each_sees_the_others_name(client, db, org):
    ann, bob, cat = org.people
    first = await open_chat(client, org, ann, bob.id)
    assert first.status == 200, await first.text()
    chat = await first.json()
    assert (chat["kind"], chat["name"], chat["peer_id"], chat["member_count"], chat["role"]) == ("direct", "Member 1", bob.id, 2, "member")
    again = await (await open_chat(client, org, bob, ann.id)).json()
    assert (again["id"], again["name"], again["peer_id"]) == (chat["id"], "Member 0", ann.id)

    # Both ways at once: one chat.
    answers = await asyncio.gather(*(open_chat(client, org, who, whom.id) for who, whom in [(ann, cat), (cat, ann)] * 4))
    assert {r.status for r in answers} == {200}
    assert len({(await r.json())["id"] for r in answers}) == 1
    async with db.transaction(org_id=org.id) as tx:
        assert await tx.session.scalar(select(func.count()).select_from(Group).where(Group.kind == "direct")) == 2

    # Listed with the other person's name, as the organisation lists them now.
    assert (await post(client, org, chat["id"], bob, "hi Ann")).status == 201
    async with db.transaction(org_id=org.id) as tx:
        await tx.session.execute(update(Membership).where(Membership.user_id == bob.id).values(display_name="Robert"))
    listed = {g["id"]: g for g in await (await client.get(org.url("/groups"), headers=ann.headers)).json()}
    assert (listed[chat["id"]]["name"], listed[chat["id"]]["kind"], listed[chat["id"]]["peer_id"], listed[chat["id"]]["unread"]) == (
        "Robert", "direct", bob.id, 1)
    detail = await (await client.get(org.url(f"/groups/{chat['id']}"), headers=ann.headers)).json()
    assert (detail["name"], detail["peer_id"]) == ("Robert", bob.id)
    assert (await client.get(org.url(f"/groups/{chat['id']}"), headers=cat.headers)).status == 403  # a third person is not in it


async def test_a_direct_chat_stays_two_people(client, db, org):
    ann, bob, cat = org.people
    chat = await (await open_chat(client, org, ann, bob.id)).json()
    url = org.url(f"/groups/{chat['id']}")
    refusals = [
        await client.post(url + "/members", json={"user_ids": [cat.id]}, headers=ann.headers),
        await client.post(url + "/members/remove", json={"user_ids": [bob.id]}, headers=ann.headers),
        await client.post(url + "/leave", headers=ann.headers),
        await client.patch(url, json={"name": "Us"}, headers=ann.headers),
        await client.put(url + f"/members/{bob.id}/role", json={"role": "admin"}, headers=ann.headers),
    ]
    for resp in refusals:
        assert resp.status == 400, await resp.text()
        assert (await resp.json())["error"]["code"] == "direct_chat"
    assert (await (await client.get(url, headers=ann.headers)).json())["member_count"] == 2

    myself = await open_chat(client, org, ann, ann.id)
    assert myself.status == 400 and (await myself.json())["error"]["field"] == "user_id"
    stranger = await signed_in(db, "Stranger")
    other_org = await make_org(db, stranger.user)
    outside = await open_chat(client, org, ann, stranger.id)
    assert outside.status == 400 and (await outside.json())["error"]["field"] == "user_id"
    assert (await client.post(f"/api/v1/orgs/{other_org.id}/direct-chats", json={"user_id": stranger.id}, headers=ann.headers)).status == 404


async def test_forwarding_to_a_person_goes_to_the_direct_chat_with_them(client, db, org):
    ann, bob, _ = org.people
    team = await create_group(client, org)
    note = await (await post(client, org, team["id"], org.owner, "bring the charts")).json()
    forward = org.url(f"/groups/{team['id']}/messages/{note['seq']}/forward")
    copy = await client.post(forward, json={"user_id": bob.id}, headers=ann.headers)
    assert copy.status == 201, await copy.text()
    copy = await copy.json()
    chat = await (await open_chat(client, org, bob, ann.id)).json()
    assert (copy["group_id"], copy["body"], copy["forwarded_from"]["group_id"]) == (chat["id"], "bring the charts", team["id"])
    assert (await (await client.post(forward, json={"user_id": bob.id}, headers=ann.headers)).json())["group_id"] == chat["id"]
    for body in ({"user_id": bob.id, "group_id": team["id"]}, {}):
        refused = await client.post(forward, json=body, headers=ann.headers)
        assert refused.status == 400, body
    to_myself = await client.post(forward, json={"user_id": ann.id}, headers=ann.headers)
    assert to_myself.status == 400 and (await to_myself.json())["error"]["field"] == "user_id"


async def test_someone_who_left_the_organisation_and_came_back_finds_the_chat_and_its_history(client, db, org):
    ann, bob, _ = org.people
    chat = await (await open_chat(client, org, ann, bob.id)).json()
    assert (await post(client, org, chat["id"], ann, "before you left")).status == 201
    async with db.transaction(org_id=org.id) as tx:
        member_id = await tx.session.scalar(select(Membership.id).where(Membership.user_id == bob.id))
    assert (await client.delete(org.url(f"/members/{member_id}"), headers=org.owner.headers)).status == 204
    assert (await (await client.get(org.url(f"/groups/{chat['id']}"), headers=ann.headers)).json())["member_count"] == 1
    await join_org(db, org.id, bob.user)

    back = await (await open_chat(client, org, bob, ann.id)).json()
    assert (back["id"], back["member_count"]) == (chat["id"], 2)
    history = await (await client.get(org.url(f"/groups/{chat['id']}/messages"), headers=bob.headers)).json()
    assert [m["body"] for m in history["messages"]] == ["before you left"]


async def test_a_persons_data_names_their_direct_chats_after_the_other_person(client, db, org):
    ann, bob, _ = org.people
    await open_chat(client, org, ann, bob.id)
    async with db.transaction(org_id=org.id) as tx:
        member_id = await tx.session.scalar(select(Membership.id).where(Membership.user_id == ann.id))
    exported = await (await client.get(org.url(f"/members/{member_id}/personal-data"), headers=org.owner.headers)).json()
    assert [g["name"] for g in exported["parts"]["groups"]["memberships"]] == ["Member 1"]
