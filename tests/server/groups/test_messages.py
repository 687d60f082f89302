"""Messages: sequence numbers, history and catch-up, replies, mentions, @all, edit, recall, reactions, and bad input."""
from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select, update

from server.accounts.auth import Principal
from server.groups.access import load_group
from server.groups.messages import do_post_message
from server.groups.models import GroupMessage
from server.orgs.access import OrgContext
from tests.server.groups.conftest import add_bulk_members, create_group, post
from tests.statements import statements_sent


async def test_messages_take_consecutive_sequence_numbers(client, org):
    group = await create_group(client, org)
    seqs = []
    for n in range(3):
        resp = await post(client, org, group["id"], org.people[n % 3], f"m{n}")
        assert resp.status == 201, await resp.text()
        seqs.append((await resp.json())["seq"])
    detail = await (await client.get(org.url(f"/groups/{group['id']}"), headers=org.owner.headers)).json()
    assert seqs == [1, 2, 3] and detail["last_seq"] == 3


async def test_history_pages_by_sequence_and_a_device_catches_up_after_its_last_seq(client, org):
    group = await create_group(client, org)
    for n in range(7):
        await post(client, org, group["id"], org.owner, f"m{n}")
    url = org.url(f"/groups/{group['id']}/messages")
    latest = await (await client.get(url, params={"limit": "3"}, headers=org.people[0].headers)).json()
    older = await (await client.get(url, params={"limit": "3", "before_seq": "5"}, headers=org.people[0].headers)).json()
    caught_up = await (await client.get(url, params={"after_seq": "4"}, headers=org.people[0].headers)).json()
    assert [m["seq"] for m in latest["messages"]] == [5, 6, 7] and latest["has_more"] is True and latest["last_seq"] == 7
    assert [m["seq"] for m in older["messages"]] == [2, 3, 4]
    assert [m["body"] for m in caught_up["messages"]] == ["m4", "m5", "m6"] and caught_up["has_more"] is False


async def test_a_reply_quotes_the_message_and_mentions_are_members(client, org):
    group = await create_group(client, org)
    first = await (await post(client, org, group["id"], org.people[0], "lunch at noon?")).json()
    resp = await post(client, org, group["id"], org.people[1], "yes", reply_to_seq=first["seq"], mentions=[org.people[0].id])
    reply = await resp.json()
    assert reply["quote"] == {"seq": first["seq"], "sender_id": org.people[0].id, "body": "lunch at noon?", "recalled": False}
    assert reply["mentions"] == [org.people[0].id]
    history = await (await client.get(org.url(f"/groups/{group['id']}/messages"), headers=org.owner.headers)).json()
    assert history["messages"][1]["quote"]["body"] == "lunch at noon?"


async def test_at_all_is_for_admins_by_default(client, org):
    group = await create_group(client, org)
    resp = await post(client, org, group["id"], org.people[0], "everyone!", mention_all=True)
    error = (await resp.json())["error"]
    assert resp.status == 403 and error["field"] == "mention_all" and error["message"] == "only group admins can mention @all"
    resp = await post(client, org, group["id"], org.owner, "everyone!", mention_all=True)
    assert resp.status == 201 and (await resp.json())["mention_all"] is True


async def test_at_all_by_members_when_configured(client, org, settings):
    settings.group_mention_all = "members"
    group = await create_group(client, org)
    assert (await post(client, org, group["id"], org.people[0], "all", mention_all=True)).status == 201


async def test_bad_messages_are_clear_4xx_and_store_nothing(client, db, org, settings):
    group = await create_group(client, org, member_ids=[org.people[0].id])
    gid = group["id"]
    too_long = await post(client, org, gid, org.owner, "x" * (settings.group_message_max_chars + 1))
    outsider = await post(client, org, gid, org.owner, "hi", mentions=[org.people[0].id, org.people[1].id])
    outsider_with_all = await post(client, org, gid, org.owner, "hi @all", mention_all=True, mentions=[org.people[1].id])
    bad_reply = await post(client, org, gid, org.owner, "hi", reply_to_seq=42)
    non_member = await post(client, org, gid, org.people[1], "let me in")
    unknown = await post(client, org, 999999, org.owner, "anyone?")
    assert (too_long.status, (await too_long.json())["error"]["code"]) == (400, "too_long")
    for refused in (outsider, outsider_with_all):  # refused once the named are checked against the members, after the message's number was taken
        error = (await refused.json())["error"]
        assert (refused.status, error["field"], error["message"]) == (400, "mentions", f"mentioned people are not members of this group: {org.people[1].id}")
    assert bad_reply.status == 400 and (await bad_reply.json())["error"]["field"] == "reply_to_seq"
    assert non_member.status == 403 and unknown.status == 404
    assert (await non_member.json())["error"]["message"] == "you are not a member of this group"
    assert (await unknown.json())["error"]["message"] == "no such group"
    assert f"at most {settings.group_message_max_chars} characters" in (await too_long.json())["error"]["message"]
    async with db.transaction(org_id=org.id) as tx:
        assert await tx.session.scalar(select(func.count()).select_from(GroupMessage)) == 0
    detail = await (await client.get(org.url(f"/groups/{gid}"), headers=org.owner.headers)).json()
    assert detail["last_seq"] == 0


async def test_the_sender_edits_and_recalls_within_the_window(client, db, org):
    group = await create_group(client, org)
    url = org.url(f"/groups/{group['id']}/messages")
    msg = await (await post(client, org, group["id"], org.people[0], "helo")).json()
    assert (await client.patch(f"{url}/{msg['seq']}", json={"body": "hello"}, headers=org.people[1].headers)).status == 403
    edited = await (await client.patch(f"{url}/{msg['seq']}", json={"body": "hello"}, headers=org.people[0].headers)).json()
    assert edited["body"] == "hello" and edited["edited_at"] is not None
    recalled = await client.post(f"{url}/{msg['seq']}/recall", headers=org.people[0].headers)
    body = await recalled.json()
    assert recalled.status == 200 and body["body"] == "" and body["recalled_at"] is not None
    history = await (await client.get(url, headers=org.people[1].headers)).json()
    assert history["messages"][0]["body"] == "" and history["messages"][0]["recalled_at"] is not None


async def test_a_recall_after_the_window_is_refused_and_the_message_kept(client, db, org, settings):
    group = await create_group(client, org)
    msg = await (await post(client, org, group["id"], org.people[0], "keep me")).json()
    async with db.transaction(org_id=org.id) as tx:
        old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=settings.group_recall_window_s + 5)
        await tx.session.execute(update(GroupMessage).where(GroupMessage.seq == msg["seq"]).values(created_at=old))
    resp = await client.post(org.url(f"/groups/{group['id']}/messages/{msg['seq']}/recall"), headers=org.people[0].headers)
    error = (await resp.json())["error"]
    assert resp.status == 403 and error["code"] == "recall_window_passed"
    assert error["message"] == f"a message can be recalled only within {settings.group_recall_window_s} seconds of sending"
    too_long = await client.patch(
        org.url(f"/groups/{group['id']}/messages/{msg['seq']}"), json={"body": "x" * (settings.group_message_max_chars + 1)}, headers=org.people[0].headers
    )
    assert too_long.status == 400 and (await too_long.json())["error"]["code"] == "too_long"
    history = await (await client.get(org.url(f"/groups/{group['id']}/messages"), headers=org.owner.headers)).json()
    assert history["messages"][0]["body"] == "keep me"


async def test_reactions_are_counted_per_emoji_and_can_be_taken_back(client, org):
    group = await create_group(client, org)
    msg = await (await post(client, org, group["id"], org.owner, "done")).json()
    url = org.url(f"/groups/{group['id']}/messages/{msg['seq']}/reactions")
    for p in org.people[:2]:
        assert (await client.put(url, json={"emoji": "👍"}, headers=p.headers)).status == 200
    await client.put(url, json={"emoji": "👍"}, headers=org.people[0].headers)  # twice is once
    await client.put(url, json={"emoji": "🎉"}, headers=org.people[2].headers)
    after = await (await client.post(url + "/remove", json={"emoji": "🎉"}, headers=org.people[2].headers)).json()
    assert after["reactions"] == [{"emoji": "👍", "count": 2, "user_ids": [org.people[0].id, org.people[1].id]}]
    assert (await client.put(url, json={"emoji": "two words"}, headers=org.owner.headers)).status == 400


async def test_one_person_puts_at_most_ten_different_reactions_on_a_message(client, org):
    group = await create_group(client, org)
    msg = await (await post(client, org, group["id"], org.owner, "done")).json()
    url = org.url(f"/groups/{group['id']}/messages/{msg['seq']}/reactions")
    me = org.people[0].headers
    for n in range(10):
        assert (await client.put(url, json={"emoji": f":r{n}:"}, headers=me)).status == 200
    refused = await client.put(url, json={"emoji": ":one-more:"}, headers=me)
    error = (await refused.json())["error"]
    assert refused.status == 400 and error["code"] == "too_many_reactions"
    assert error["message"] == "one person may put at most 10 different reactions on a message; take one back first"
    assert (await client.put(url, json={"emoji": ":r3:"}, headers=me)).status == 200  # one already there is fine
    assert (await client.put(url, json={"emoji": ":one-more:"}, headers=org.people[1].headers)).status == 200  # each person has their own
    await client.post(url + "/remove", json={"emoji": ":r3:"}, headers=me)
    assert (await client.put(url, json={"emoji": ":one-more:"}, headers=me)).status == 200
    for hostile in ("\u0000", "a\u0007b", "x" * 33):
        resp = await client.put(url, data=f'{{"emoji": "{hostile}"}}', headers=me | {"Content-Type": "application/json"})
        assert resp.status == 400, hostile


async def statements_of(db, org, group_id: int, action) -> list[str]:
    """The statements ``await action(tx, access)`` sends, as the group's owner, on its own connection (other tasks share the engine)."""
    async with db.transaction(org_id=org.id) as tx:
        owner = Principal(user_id=org.owner.id, session_id=0, name="Owner")
        access = await load_group(tx, OrgContext(org.id, owner, None, "owner"), group_id)
        async with statements_sent(db, tx) as statements:
            await action(tx, access)
    return statements


async def _queries_to_post(db, settings, org, group_id: int, **post) -> list[str]:
    """The statements ``do_post_message`` sends (by default an @all that also names one person)."""
    post = post or {"body": "hello @all", "mention_all": True, "mentions": [org.people[0].id]}
    return await statements_of(db, org, group_id, lambda tx, access: do_post_message(tx, access, settings, **post))


async def test_posting_costs_the_same_queries_for_10_and_for_10000_members(client, db, org, settings, backend):
    small = await create_group(client, org, name="Small")
    large = await create_group(client, org, name="Large")
    await add_bulk_members(db, org.id, small["id"], 10 - 4, prefix=f"small-{org.id}")
    await add_bulk_members(db, org.id, large["id"], 10_000 - 4, prefix=f"large-{org.id}")
    assert (await (await client.get(org.url(f"/groups/{large['id']}"), headers=org.owner.headers)).json())["member_count"] == 10_000
    small_cost = await _queries_to_post(db, settings, org, small["id"])
    large_cost = await _queries_to_post(db, settings, org, large["id"])
    assert len(small_cost) == len(large_cost) == 4, large_cost  # next seq, insert, sender's read pointer, the one named is a member
    assert [s.split()[0] for s in large_cost] == ["UPDATE", "INSERT", "UPDATE", "SELECT"]
    naming = {"body": "@two", "mentions": [p.id for p in org.people[:2]]}
    small_naming = await _queries_to_post(db, settings, org, small["id"], **naming)
    large_naming = await _queries_to_post(db, settings, org, large["id"], **naming)
    # + who is named, stored from the group's members (which checks them), their counts, one badge event (both now have 1)
    assert len(small_naming) == len(large_naming), large_naming
    assert [s.split()[0] for s in large_naming[:5]] == ["UPDATE", "INSERT", "UPDATE", "INSERT", "SELECT"] and "FROM group_members" in large_naming[3]
    badge = large_naming[5:]  # one emit: one statement on PostgreSQL, three on SQLite (server/gateway/events.py)
    assert len(badge) == (1 if backend == "postgresql" else 3) and all("user_streams" in s or "user_events" in s for s in badge), badge


async def test_a_device_catches_up_on_new_messages_and_later_changes_of_ones_it_has(client, org):
    group = await create_group(client, org)
    url = org.url(f"/groups/{group['id']}/messages")
    author, reader = org.people[0], org.people[1]
    sent = [await (await post(client, org, group["id"], author, f"m{n}")).json() for n in (1, 2, 3)]
    seen = (await (await client.get(url, headers=reader.headers)).json())["last_change_seq"]  # the device goes offline here
    assert [m["change_seq"] for m in sent] == [1, 2, 3] and seen == 3

    await client.patch(f"{url}/{sent[0]['seq']}", json={"body": "m1 fixed"}, headers=author.headers)
    await client.put(f"{url}/{sent[1]['seq']}/reactions", json={"emoji": "👍"}, headers=org.owner.headers)
    await post(client, org, group["id"], author, "m4")
    await client.post(f"{url}/{sent[2]['seq']}/recall", headers=author.headers)

    first = await (await client.get(url, params={"changed_after": str(seen), "limit": "2"}, headers=reader.headers)).json()
    rest = await (await client.get(url, params={"changed_after": str(first["messages"][-1]["change_seq"])}, headers=reader.headers)).json()
    changes = first["messages"] + rest["messages"]
    assert first["has_more"] is True and rest["has_more"] is False and rest["last_change_seq"] == 7
    assert [(m["seq"], m["change_seq"]) for m in changes] == [(1, 4), (2, 5), (4, 6), (3, 7)]
    assert changes[0]["body"] == "m1 fixed" and changes[1]["reactions"][0]["emoji"] == "👍"
    assert changes[3]["recalled_at"] is not None and changes[3]["body"] == ""
    # Changes do not count as unread messages: the sequence of messages has no gaps.
    (mine,) = await (await client.get(org.url("/groups"), headers=reader.headers)).json()
    assert (mine["last_seq"], mine["unread"], mine["last_change_seq"]) == (4, 4, 7)
    refused = await client.get(url, params={"changed_after": "1", "after_seq": "1"}, headers=reader.headers)
    assert refused.status == 400


async def test_concurrent_changes_each_take_their_own_change_number(client, org):
    group = await create_group(client, org)
    url = org.url(f"/groups/{group['id']}/messages")
    msg = await (await post(client, org, group["id"], org.owner, "vote")).json()
    people = [org.owner, *org.people]
    answers = await asyncio.gather(
        *(client.put(f"{url}/{msg['seq']}/reactions", json={"emoji": "👍"}, headers=p.headers) for p in people),
        *(post(client, org, group["id"], p, "me too") for p in people),
    )
    numbers = [(await r.json())["change_seq"] for r in answers]
    assert sorted(numbers) == list(range(2, 2 + 2 * len(people)))  # distinct, none lost
    page = await (await client.get(url, params={"changed_after": "1"}, headers=org.owner.headers)).json()
    changes = [m["change_seq"] for m in page["messages"]]
    assert changes == sorted(changes) and len(changes) == 1 + len(people) and page["last_change_seq"] == max(numbers)
    (voted,) = [m for m in page["messages"] if m["seq"] == msg["seq"]]  # once, as of its latest reaction
    assert voted["change_seq"] == max(numbers[: len(people)]) and voted["reactions"][0]["count"] == len(people)
