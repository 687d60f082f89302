"""Pinned announcements: admins post them, members open them, and who has not opened is listed with counts."""
from __future__ import annotations

from tests.server.groups.conftest import create_group


async def test_who_has_and_has_not_opened_a_pinned_announcement(client, org):
    group = await create_group(client, org)
    url = org.url(f"/groups/{group['id']}/announcements")
    assert (await client.post(url, json={"body": "Masks on"}, headers=org.people[0].headers)).status == 403
    resp = await client.post(url, json={"body": "Masks on from Monday"}, headers=org.owner.headers)
    notice = await resp.json()
    seq = notice["message"]["seq"]
    assert resp.status == 201 and notice["message"]["kind"] == "announcement" and (notice["opened_count"], notice["not_opened_count"]) == (1, 3)
    for p in org.people[:2]:
        assert (await client.post(f"{url}/{seq}/open", headers=p.headers)).status == 204
    await client.post(f"{url}/{seq}/open", headers=org.people[0].headers)  # opening twice counts once
    not_opened = await (await client.get(f"{url}/{seq}/opens", headers=org.owner.headers)).json()
    opened = await (await client.get(f"{url}/{seq}/opens", params={"state": "opened"}, headers=org.owner.headers)).json()
    listing = await (await client.get(url, headers=org.people[2].headers)).json()
    assert (not_opened["opened_count"], not_opened["not_opened_count"]) == (3, 1)
    assert [m["user_id"] for m in not_opened["members"]] == [org.people[2].id]
    assert {m["user_id"] for m in opened["members"]} == {org.owner.id, org.people[0].id, org.people[1].id}
    assert len(listing) == 1 and listing[0]["opened_by_me"] is False and listing[0]["message"]["body"] == "Masks on from Monday"


async def test_an_unpinned_announcement_leaves_the_list_but_stays_in_history(client, org):
    group = await create_group(client, org)
    url = org.url(f"/groups/{group['id']}/announcements")
    seq = (await (await client.post(url, json={"body": "Drill at 3"}, headers=org.owner.headers)).json())["message"]["seq"]
    assert (await client.delete(f"{url}/{seq}", headers=org.owner.headers)).status == 204
    assert await (await client.get(url, headers=org.owner.headers)).json() == []
    assert (await client.post(f"{url}/{seq}/open", headers=org.people[0].headers)).status == 404
    history = await (await client.get(org.url(f"/groups/{group['id']}/messages"), headers=org.owner.headers)).json()
    assert history["messages"][0]["body"] == "Drill at 3"
