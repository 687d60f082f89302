"""The signed-in user: reading and renaming."""
from __future__ import annotations

from tests.factories import person


async def test_patch_me_changes_the_name(client, db, backend):
    alice = await person(client, db, "Alice")

    resp = await client.patch("/api/v1/me", json={"name": "Alice Liddell"}, headers=alice.headers)

    assert resp.status == 200
    assert (await resp.json())["name"] == "Alice Liddell"
    assert (await (await client.get("/api/v1/me", headers=alice.headers)).json())["name"] == "Alice Liddell"


async def test_patch_me_refuses_an_empty_name_and_unknown_fields(client, db, backend):
    alice = await person(client, db, "Alice")

    empty = await client.patch("/api/v1/me", json={"name": "   "}, headers=alice.headers)
    email = await client.patch("/api/v1/me", json={"name": "Mallory", "email": "x@example.org"}, headers=alice.headers)

    assert empty.status == 400 and (await empty.json())["error"]["field"] == "name"
    assert email.status == 400 and (await email.json())["error"]["field"] == "email"
    assert (await (await client.get("/api/v1/me", headers=alice.headers)).json())["name"] == "Alice"
