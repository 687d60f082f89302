"""What notify's settings page (/notify/settings) reads: the bounds a policy is held to, and the senders by name."""
from __future__ import annotations

from notify.keys import NOTIFY_SETTINGS
from tests.factories import person
from tests.notify.conftest import add_member


async def test_the_policy_limits_are_what_a_policy_is_checked_against(app, client, org, backend):
    app[NOTIFY_SETTINGS].paid_min_delay_s = 90
    app[NOTIFY_SETTINGS].paid_max_repeats = 2
    limits = await client.get(f"/api/v1/orgs/{org.id}/broadcast-policy/limits", headers=org.admin.headers)
    assert limits.status == 200 and await limits.json() == {"min_delay_s": 90, "max_repeats": 2}
    policy = {"sms_after_s": 90, "call_after_s": None, "repeats": 2, "repeat_interval_s": 90}
    assert (await client.put(f"/api/v1/orgs/{org.id}/broadcast-policy", json=policy, headers=org.admin.headers)).status == 200
    too_fast = await client.put(f"/api/v1/orgs/{org.id}/broadcast-policy", json={**policy, "sms_after_s": 89}, headers=org.admin.headers)
    assert too_fast.status == 400 and (await too_fast.json())["error"]["field"] == "sms_after_s"


async def test_senders_are_listed_by_the_name_the_organisation_gives_them(client, db, org, backend):
    member = await person(client, db, "Mo Member")
    await add_member(db, org.id, member.id, "Dr Mo")
    granted = await client.put(f"/api/v1/orgs/{org.id}/broadcast-senders/{member.id}", headers=org.admin.headers)
    assert granted.status == 200 and (await granted.json())["display_name"] == "Dr Mo"
    listed = await (await client.get(f"/api/v1/orgs/{org.id}/broadcast-senders", headers=org.admin.headers)).json()
    assert [(s["user_id"], s["display_name"]) for s in listed] == [(member.id, "Dr Mo")]
