"""Receipts: sent → delivered → read → confirmed, only forward; counts and lists for the sender; remind again; the live dashboard."""
from __future__ import annotations

from tests.factories import person
from tests.notify.conftest import add_member
from tests.notify.test_send import send, url
from tests.server.gateway.sockets import connect, token_of


async def signed_in_recipient(client, db, org, name="Rita Recipient"):
    someone = await person(client, db, name)
    await add_member(db, org.id, someone.id, name)
    return someone


async def test_states_only_move_forward_and_keep_their_times(client, db, org, backend):
    rita = await signed_in_recipient(client, db, org)
    sent = await (await send(client, org, {"user_ids": [rita.id]})).json()
    receipt = url(org, f"/{sent['id']}/receipt")
    confirmed = await (await client.post(receipt, json={"state": "confirmed"}, headers=rita.headers)).json()
    assert confirmed["state"] == "confirmed"
    assert confirmed["delivered_at"] and confirmed["read_at"] and confirmed["confirmed_at"]  # skipped states get a time too
    back = await client.post(receipt, json={"state": "delivered"}, headers=rita.headers)
    assert back.status == 200 and (await back.json())["state"] == "confirmed"
    bad = await client.post(receipt, json={"state": "sent"}, headers=rita.headers)
    assert bad.status == 400 and (await bad.json())["error"]["field"] == "state"


async def test_only_a_recipient_can_post_a_receipt_or_see_it(client, db, org, backend):
    rita = await signed_in_recipient(client, db, org)
    bystander = await signed_in_recipient(client, db, org, "Ben Bystander")
    sent = await (await send(client, org, {"user_ids": [rita.id]})).json()
    assert (await client.post(url(org, f"/{sent['id']}/receipt"), json={"state": "read"}, headers=bystander.headers)).status == 404
    assert (await client.get(url(org, f"/{sent['id']}/mine"), headers=bystander.headers)).status == 404
    assert (await client.get(url(org, f"/{sent['id']}"), headers=bystander.headers)).status == 404  # not the sender, not an admin
    mine = await (await client.get(url(org, f"/{sent['id']}/mine"), headers=rita.headers)).json()
    assert (mine["title"], mine["state"]) == ("Code red", "sent")
    received = await (await client.get(url(org, "/received"), headers=rita.headers)).json()
    assert [b["id"] for b in received] == [sent["id"]]


async def test_counts_lists_per_state_and_remind_only_the_unconfirmed(client, db, org, backend):
    rita = await signed_in_recipient(client, db, org)
    rob = await signed_in_recipient(client, db, org, "Rob Reader")
    sent = await (await send(client, org, {"user_ids": [rita.id, rob.id, org.people["pat"]]})).json()
    await client.post(url(org, f"/{sent['id']}/receipt"), json={"state": "confirmed"}, headers=rita.headers)
    await client.post(url(org, f"/{sent['id']}/receipt"), json={"state": "read"}, headers=rob.headers)
    got = await (await client.get(url(org, f"/{sent['id']}"), headers=org.admin.headers)).json()
    assert got["counts"] == {"sent": 3, "delivered": 2, "read": 2, "confirmed": 1}

    unconfirmed = await (await client.get(url(org, f"/{sent['id']}/recipients?state=unconfirmed&limit=1"), headers=org.admin.headers)).json()
    assert len(unconfirmed["items"]) == 1 and unconfirmed["next_after"] is not None
    rest = await (await client.get(url(org, f"/{sent['id']}/recipients?state=unconfirmed&after={unconfirmed['next_after']}"),
                                   headers=org.admin.headers)).json()
    assert {r["user_id"] for r in unconfirmed["items"] + rest["items"]} == {rob.id, org.people["pat"]} and rest["next_after"] is None
    readers = await (await client.get(url(org, f"/{sent['id']}/recipients?state=read"), headers=org.admin.headers)).json()
    assert [r["name"] for r in readers["items"]] == ["Rob Reader"]

    reminded = await (await client.post(url(org, f"/{sent['id']}/remind"), headers=org.admin.headers)).json()
    assert reminded == {"reminded": 2}
    everyone = await (await client.get(url(org, f"/{sent['id']}/recipients"), headers=org.admin.headers)).json()
    assert {r["user_id"]: r["remind_count"] for r in everyone["items"]} == {rita.id: 0, rob.id: 1, org.people["pat"]: 1}


async def test_devices_get_the_notice_live_acknowledge_over_the_socket_and_the_sender_sees_it_live(client, db, org, backend):
    rita = await signed_in_recipient(client, db, org)
    ws_url = str(client.make_url("/api/v1/ws"))
    phone = await connect(client.session, ws_url, token_of(rita.headers))
    dashboard = await connect(client.session, ws_url, token_of(org.admin.headers))
    await phone.until_ready()
    await dashboard.until_ready()

    sent = await (await send(client, org, {"user_ids": [rita.id]})).json()
    (event,) = await phone.events(1)
    assert event["event"] == "broadcast.received" and event["data"]["broadcast_id"] == sent["id"]
    await phone.send({"type": "broadcast.receipt", "broadcast_id": sent["id"], "state": "delivered", "ref": 7})
    assert await phone.next_frame() == {"type": "broadcast.receipt.saved", "broadcast_id": sent["id"], "state": "delivered", "ref": 7}
    update = await dashboard.next_frame()
    assert update == {"type": "broadcast.updated", "broadcast_id": sent["id"], "kind": "receipts", "changes": [[rita.id, "delivered"]]}

    await phone.send({"type": "broadcast.receipt", "broadcast_id": sent["id"], "state": "sideways", "ref": 8})
    error = await phone.next_frame()
    assert error["type"] == "error" and error["ref"] == 8 and "state" in error["error"]["message"]
    mine = await (await client.get(url(org, f"/{sent['id']}/mine"), headers=rita.headers)).json()
    assert mine["state"] == "delivered"
    await phone.close()
    await dashboard.close()
