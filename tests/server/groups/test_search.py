"""Search: full-text over the history of the caller's groups only, edits followed, recalls gone."""
from __future__ import annotations

from tests.server.groups.conftest import create_group, post


async def _search(client, org, person, q, **params):
    resp = await client.get(org.url("/group-messages/search"), params={"q": q, **params}, headers=person.headers)
    assert resp.status == 200, await resp.text()
    return [(m["group_id"], m["body"]) for m in (await resp.json())["messages"]]


async def test_search_finds_all_words_in_the_members_groups_only(client, org):
    ward = await create_group(client, org, name="Ward", member_ids=[org.people[0].id])
    kitchen = await create_group(client, org, name="Kitchen", member_ids=[org.people[1].id])
    await post(client, org, ward["id"], org.owner, "Oxygen delivery arrives Tuesday")
    await post(client, org, ward["id"], org.owner, "Tuesday rota is out")
    await post(client, org, kitchen["id"], org.owner, "Oxygen for the kitchen? no, delivery of rice Tuesday")
    assert await _search(client, org, org.people[0], "tuesday delivery") == [(ward["id"], "Oxygen delivery arrives Tuesday")]
    assert await _search(client, org, org.people[1], "oxygen") == [(kitchen["id"], "Oxygen for the kitchen? no, delivery of rice Tuesday")]
    assert len(await _search(client, org, org.owner, "tuesday")) == 3
    assert await _search(client, org, org.owner, "tuesday", group_id=str(kitchen["id"])) == [(kitchen["id"], "Oxygen for the kitchen? no, delivery of rice Tuesday")]


async def test_search_follows_edits_and_forgets_recalls_and_takes_operators_as_words(client, org):
    group = await create_group(client, org)
    url = org.url(f"/groups/{group['id']}/messages")
    first = await (await post(client, org, group["id"], org.owner, "meet in room 101")).json()
    second = await (await post(client, org, group["id"], org.owner, "secret plan")).json()
    await client.patch(f"{url}/{first['seq']}", json={"body": "meet in room 202"}, headers=org.owner.headers)
    await client.post(f"{url}/{second['seq']}/recall", headers=org.owner.headers)
    assert await _search(client, org, org.people[0], "101") == []
    assert await _search(client, org, org.people[0], "202") == [(group["id"], "meet in room 202")]
    assert await _search(client, org, org.people[0], "secret") == []
    assert await _search(client, org, org.people[0], 'room" OR "x') == []


async def test_search_finds_a_chinese_word_inside_a_sentence(client, org):
    group = await create_group(client, org)
    url = org.url(f"/groups/{group['id']}/messages")
    report = (group["id"], "今天的健康报告已经发布")
    await post(client, org, group["id"], org.owner, report[1])
    await post(client, org, group["id"], org.owner, "明天开会")
    assert await _search(client, org, org.people[0], "健康") == [report]
    assert await _search(client, org, org.people[0], "健康报告") == [report]
    assert await _search(client, org, org.people[0], "健") == [report]  # one character, anywhere in a run
    assert await _search(client, org, org.people[0], "布") == [report]  # ... including its last
    assert await _search(client, org, org.people[0], "报健") == []  # both characters, but not together
    assert await _search(client, org, org.people[0], "健康 开会") == []  # every word must appear
    edited = await (await post(client, org, group["id"], org.owner, "体温正常")).json()
    await client.patch(f"{url}/{edited['seq']}", json={"body": "体温偏高"}, headers=org.owner.headers)
    assert await _search(client, org, org.people[0], "正常") == []
    assert await _search(client, org, org.people[0], "偏高") == [(group["id"], "体温偏高")]
