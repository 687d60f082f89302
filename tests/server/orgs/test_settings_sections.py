"""The sections of an organisation's settings (``/admin``): the platform's and each capability's, for admins, in their language."""
from __future__ import annotations

import io

from aiohttp import FormData

from server.i18n import translate
from tests.server.orgs.conftest import join, ok


async def test_admins_get_every_section_in_order_and_in_their_language(client, db, org, backend):
    admin = await join(db, org.id, "admin")
    sections = await ok(await client.get(org.url("/settings-sections"), headers=admin.headers))
    keys = [s["key"] for s in sections]
    assert keys[:4] == ["organisation", "members", "departments", "imports"] and keys[-1] == "audit"
    assert {"key": "broadcasts", "href": "/notify/settings", "label": "Urgent broadcasts"} in sections  # notify's, registered by notify
    assert {"key": "notifications", "href": "/admin/notifications", "label": "Notifications"} in sections  # the channels' SMS digest
    chinese = await ok(await client.get(org.url("/settings-sections"), headers={**admin.headers, "Accept-Language": "zh-CN"}))
    assert [s["label"] for s in chinese][:2] == ["组织", "成员"] and "紧急通知" in [s["label"] for s in chinese]


async def test_a_member_gets_no_settings(client, db, org, backend):
    member = await join(db, org.id, "member")
    refused = await client.get(org.url("/settings-sections"), headers=member.headers)
    assert refused.status == 403
    places = await ok(await client.get(f"/api/v1/navigation?org_id={org.id}", headers=member.headers))
    assert "settings" not in [p["key"] for p in places]
    owner_places = await ok(await client.get(f"/api/v1/navigation?org_id={org.id}", headers=org.owner.headers))
    assert {"key": "settings", "href": "/admin", "label": "Settings"} in owner_places


async def test_an_import_report_reads_in_the_callers_language(client, org, backend):
    data = FormData()
    data.add_field("file", io.BytesIO(b"external_id,name\nE1,\nE2,Wang Fang\n"), filename="staff.csv", content_type="text/csv")
    report = await ok(await client.post(org.url("/imports"), data=data, headers={**org.owner.headers, "Accept-Language": "zh-CN"}))
    assert report["created"] == 1 and report["failed"] == 1
    assert report["errors"] == [{"row": 2, "field": "name", "message": translate("zh-CN", "a name is required")}]
    assert report["errors"][0]["message"] != "a name is required"
