"""What notify writes to the organisation's audit log: broadcasts sent and reminded, policy and sender changes."""
from __future__ import annotations

from tests.notify.test_send import send


async def test_sending_reminding_and_the_escalation_policy_are_in_the_audit_log(client, db, org, backend):
    sent = await (await send(client, org, {"everyone": True}, policy={"sms_after_s": 600})).json()
    assert (await client.post(f"/api/v1/orgs/{org.id}/broadcasts/{sent['id']}/remind", headers=org.admin.headers)).status == 200
    policy = {"sms_after_s": 300, "call_after_s": 900, "repeats": 1, "repeat_interval_s": 600}
    assert (await client.put(f"/api/v1/orgs/{org.id}/broadcast-policy", json=policy, headers=org.admin.headers)).status == 200

    log = await (await client.get(f"/api/v1/orgs/{org.id}/audit", params={"action": "broadcast"}, headers=org.admin.headers)).json()

    assert [(e["action"], e["actor_user_id"]) for e in log["items"]] == [
        ("broadcast_policy.changed", org.admin.id), ("broadcast.reminded", org.admin.id), ("broadcast.sent", org.admin.id)
    ]
    assert log["items"][2]["details"]["recipients"] == 6 and log["items"][2]["target_id"] == sent["id"]
    assert log["items"][0]["details"] == policy
