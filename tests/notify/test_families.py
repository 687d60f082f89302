"""Notices to families: a bureau's guardians (outsiders, not members) as recipients, and its staff as senders within their units.

The bureau is the schools sample (tests/schools/conftest.py): North No. 1 Primary's Grade 1 Class 1 ("C1") has
Wang Xiaoming (guardians Wang Fang and Wang Wei) and Liu Yang (Liu Qiang); Wang Fang also has a child in South
No. 3 Primary. Chen Jing is C1's head teacher (and a subject teacher of Class 2); Li Hua is North No. 1's admin.
"""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, func, insert, select

from notify.broadcasts import check_may_send, do_send_broadcast, do_store_recipients
from notify.keys import NOTIFY_SETTINGS
from notify.models import BroadcastRecipient, OutboundMessage
from notify.recipients import expand_recipients
from schools.models import Guardian, Student, StudentGuardian
from server.accounts.auth import Principal
from server.accounts.models import User
from server.audiences.expand import Audience, resolve_audience
from server.audiences.reach import check_audience_within
from server.channels.models import PaidUsage
from server.db import utcnow
from server.orgs.access import OrgContext
from tests.schools.conftest import Bureau, new_bureau
from tests.server.gateway.sockets import connect, token_of
from tests.server.orgs.conftest import join, ok

C1, C2, SOUTH = "S0101-G1C1", "S0101-G1C2", "S0201-G1C1"


@pytest.fixture
async def bureau(db) -> Bureau:
    return await new_bureau(db)


async def user_of_phone(bureau: Bureau, phone: str) -> int:
    async with bureau.db.transaction(org_id=bureau.org.id) as tx:
        return await tx.session.scalar(select(Guardian.user_id).where(Guardian.phone == phone))


async def reached(bureau: Bureau, parts: dict, *, everyone: bool = False) -> dict[int, tuple]:
    """Who an audience reaches: user id → (name, phone, department), from the streamed expansion."""
    async with bureau.db.transaction(org_id=bureau.org.id) as tx:
        resolved = await resolve_audience(tx, Audience({k: [bureau.units[u] for u in v] for k, v in parts.items()}, everyone))
        people = [m async for chunk in resolved.chunks(tx, size=2) for m in chunk]
        assert await resolved.count(tx) == len(people)
    assert len({m.user_id for m in people}) == len(people), "a person reached twice"
    return {m.user_id: (m.name, m.phone, m.department_id) for m in people}


def broadcasts(bureau: Bureau, tail: str = "") -> str:
    return bureau.org.url("/broadcasts" + tail)


async def send(client, bureau: Bureau, headers: dict, parts: dict, **extra):
    body = {"title": "运动会通知", "body": "周五上午举行运动会。", "recipients": {"parts": {k: [bureau.units[u] for u in v] for k, v in parts.items()}},
            **extra}
    return await client.post(broadcasts(bureau), json=body, headers=headers)


async def test_families_are_the_guardians_with_accounts_of_the_children_under_the_units_each_once(db, bureau, backend):
    wang_fang, wang_wei, liu_qiang = [await user_of_phone(bureau, f"+86139000000{n:02d}") for n in (1, 2, 3)]
    c1 = await reached(bureau, {"families": [C1]})
    assert c1 == {wang_fang: ("Wang Fang", "+8613900000001", bureau.units[C1]), wang_wei: ("Wang Wei", "+8613900000002", bureau.units[C1]),
                  liu_qiang: ("Liu Qiang", "+8613900000003", bureau.units[C1])}
    assert (await reached(bureau, {"families": [C1, SOUTH]})).keys() == c1.keys()  # Wang Fang's two children: once
    assert len(await reached(bureau, {"families": ["BUREAU"]})) == 5  # Huang Gang has no phone, so no account
    staff = await reached(bureau, {"families": [C1], "staff": [C1]})  # C1's teacher works in the school's department
    assert sorted(name for name, _, _ in staff.values()) == ["Chen Jing", "Liu Qiang", "Wang Fang", "Wang Wei"]
    school_staff = await reached(bureau, {"staff": ["S0101"]})
    assert sorted(name for name, _, _ in school_staff.values()) == ["Chen Jing", "Li Hua", "Sun Lei"]


async def test_a_teacher_who_is_a_parent_is_reached_once_as_staff(client, db, bureau, backend):
    body = {"external_id": "P0100", "name": "Chen Xiao", "class_id": bureau.units[C1], "guardians": [{"name": "Chen Jing", "phone": "13800000104"}]}
    await ok(await client.post(bureau.url("/students"), json=body, headers=bureau.owner), 201)
    families = await reached(bureau, {"families": [C1]})
    both = await reached(bureau, {"families": [C1], "staff": [C1]})
    assert len(families) == 4 and both.keys() == families.keys()  # Chen Jing is a guardian now: the same account, once
    chen = next(u for u, (name, _, _) in both.items() if name == "Chen Jing")
    assert both[chen][2] == bureau.units["S0101"]  # listed as the member (her department), not as the guardian


async def test_the_guardians_of_archived_children_are_not_reached(client, db, bureau, backend):
    liu_qiang, wang_fang = await user_of_phone(bureau, "+8613900000003"), await user_of_phone(bureau, "+8613900000001")
    for child in ("P0003", "P0001"):
        await ok(await client.patch(bureau.url(f"/students/{bureau.students[child]}"), json={"archived": True}, headers=bureau.owner))
    assert set(await reached(bureau, {"families": [C1]})) == set()
    everywhere = await reached(bureau, {"families": ["BUREAU"]})
    assert liu_qiang not in everywhere and everywhere[wang_fang][2] == bureau.units[SOUTH]  # her other child is still on a roll
    preview = await ok(await client.post(bureau.org.url("/audiences/preview"), json={"parts": {"families": [bureau.units[C1], bureau.units["D02"]]}},
                                         headers=bureau.owner))
    assert preview["total"] == 1 and preview["parts"] == [{"kind": "families", "named": 2, "unknown": [], "people": 1}]


async def test_a_head_teacher_sends_to_their_class_families_who_read_and_confirm_their_own(client, db, bureau, backend):
    chen = await bureau.staff("T0004")
    liu, wang_fang = await bureau.guardian("+8613900000003"), await bureau.guardian("+8613900000001")
    preview = await ok(await client.post(bureau.org.url("/audiences/preview"), json={"parts": {"families": [bureau.units[C1]], "staff": [bureau.units[C1]]}},
                                         headers=chen))
    assert preview["total"] == 4
    sent = await ok(await send(client, bureau, chen, {"families": [C1]}), 201)
    assert sent["recipient_count"] == 3 and sent["unknown"]["parts"] == {"families": []}

    received = await ok(await client.get(broadcasts(bureau, "/received"), headers=liu))
    assert [(b["id"], b["title"], b["sender_name"], b["state"]) for b in received] == [(sent["id"], "运动会通知", "Chen Jing", "sent")]
    unread = await ok(await client.get(broadcasts(bureau, f"/{sent['id']}/recipients?state=unread"), headers=chen))
    assert unread["count"] == 3 and len(unread["items"]) == 3

    ws_url = str(client.make_url("/api/v1/ws"))
    phone = await connect(client.session, ws_url, token_of(liu))
    await phone.until_ready()
    await phone.send({"type": "broadcast.receipt", "broadcast_id": sent["id"], "state": "read", "ref": 1})
    assert await phone.next_frame() == {"type": "broadcast.receipt.saved", "broadcast_id": sent["id"], "state": "read", "ref": 1}
    await phone.ws.close()
    unread = await ok(await client.get(broadcasts(bureau, f"/{sent['id']}/recipients?state=unread"), headers=chen))
    assert unread["count"] == 2 and "Liu Qiang" not in [r["name"] for r in unread["items"]]

    confirmed = await ok(await client.post(broadcasts(bureau, f"/{sent['id']}/receipt"), json={"state": "confirmed"}, headers=wang_fang))
    assert confirmed["state"] == "confirmed" and confirmed["read_at"]
    assert (await ok(await client.get(broadcasts(bureau, f"/{sent['id']}/mine"), headers=wang_fang)))["state"] == "confirmed"
    counts = (await ok(await client.get(broadcasts(bureau, f"/{sent['id']}"), headers=chen)))["counts"]
    assert counts == {"sent": 3, "delivered": 2, "read": 2, "confirmed": 1}
    assert await ok(await client.post(broadcasts(bureau, f"/{sent['id']}/remind"), headers=chen)) == {"reminded": 2}
    mine = await ok(await client.get(broadcasts(bureau, f"/{sent['id']}/mine"), headers=liu))
    assert mine["remind_count"] == 1


async def test_a_guardian_reaches_only_their_own_notices_and_nothing_else_of_notify(app, client, db, bureau, backend):
    chen, liu = await bureau.staff("T0004"), await bureau.guardian("+8613900000003")
    to_c2 = await ok(await send(client, bureau, await bureau.staff("T0005"), {"families": [C2]}), 201)  # not Liu's class
    to_c1 = await ok(await send(client, bureau, chen, {"families": [C1]}), 201)
    assert [b["id"] for b in await ok(await client.get(broadcasts(bureau, "/received"), headers=liu))] == [to_c1["id"]]
    assert (await client.get(broadcasts(bureau, f"/{to_c2['id']}/mine"), headers=liu)).status == 404
    assert (await client.post(broadcasts(bureau, f"/{to_c2['id']}/receipt"), json={"state": "read"}, headers=liu)).status == 404
    theirs = {"/received", "/{broadcast_id}/mine", "/{broadcast_id}/receipt"}
    walked = 0
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if not path.startswith("/api/v1/orgs/{org_id}/broadcast") or route.method == "HEAD":
            continue
        if path.removeprefix("/api/v1/orgs/{org_id}/broadcasts") in theirs:
            continue
        filled = path.format(org_id=bureau.org.id, broadcast_id=to_c1["id"], user_id=to_c1["sender_id"])
        async with client.request(route.method, filled, headers=liu, json={}) as resp:
            assert resp.status == 404, f"{route.method} {path}: {resp.status}"
        walked += 1
    assert walked >= 10
    stranger = await join(db, (await new_bureau(db)).org.id)  # someone the organisation does not admit: 404 on their routes too
    assert (await client.get(broadcasts(bureau, "/received"), headers=stranger.headers)).status == 404


async def test_a_head_teacher_cannot_send_beyond_their_class_and_learns_nothing_of_what_is_there(client, db, bureau, backend):
    chen = await bureau.staff("T0004")
    for parts in ({"families": [C2]}, {"staff": ["S0101"]}, {"families": [SOUTH]}, {"departments": ["S0101"]}):
        refused = await send(client, bureau, chen, parts)
        error = (await refused.json())["error"]
        kind = next(iter(parts))
        assert refused.status == 400 and error["field"] == f"audience.{kind}", (parts, error)
    nowhere = await client.post(broadcasts(bureau), headers=chen, json={"title": "t", "body": "b", "recipients": {"parts": {"families": [2**62]}}})
    other_class = await send(client, bureau, chen, {"families": [C2]})
    assert nowhere.status == 400 and (await nowhere.json())["error"]["message"].replace(str(2**62), "ID") == \
        (await other_class.json())["error"]["message"].replace(str(bureau.units[C2]), "ID")  # a class elsewhere reads as one that does not exist
    everyone = await client.post(broadcasts(bureau), headers=chen, json={"title": "t", "body": "b", "recipients": {"everyone": True}})
    assert everyone.status == 400 and (await everyone.json())["error"]["field"] == "audience.everyone"
    preview = await client.post(bureau.org.url("/audiences/preview"), json={"parts": {"families": [bureau.units[C2]]}}, headers=chen)
    assert preview.status == 400
    li_hua = await bureau.staff("T0003")  # the school's admin reaches both classes
    assert (await ok(await send(client, bureau, li_hua, {"families": [C1, C2], "staff": ["S0101"]}), 201))["recipient_count"] == 7


async def test_who_may_send_to_families_without_a_notify_grant(client, db, bureau, backend):
    subject_teacher = await join(db, bureau.org.id, "member", "Ma Lin")
    await ok(await client.post(bureau.url(f"/units/{bureau.units[C1]}/roles"), json={"user_id": subject_teacher.id, "role": "subject_teacher"},
                               headers=bureau.owner), 201)
    plain = await join(db, bureau.org.id, "member", "Plain Member")
    for who in (subject_teacher.headers, plain.headers):
        assert (await send(client, bureau, who, {"families": [C1]})).status == 403
    assert (await send(client, bureau, await bureau.staff("T0002"), {"families": ["D01"], "staff": ["D01"]})).status == 201  # district staff
    assert (await send(client, bureau, bureau.owner, {"families": ["BUREAU"]})).status == 201  # an organisation admin: anywhere
    await ok(await client.put(bureau.org.url(f"/broadcast-senders/{plain.id}"), headers=bureau.owner))
    assert (await send(client, bureau, plain.headers, {"families": [SOUTH]})).status == 201  # a notify grant: anywhere
    nav = await ok(await client.get(f"/api/v1/navigation?org_id={bureau.org.id}", headers=await bureau.staff("T0004")))
    assert "send-notice" in [p["key"] for p in nav]


async def test_escalation_texts_guardians_within_the_paid_allowances(client, db, bureau, backend):
    chen = await bureau.staff("T0004")
    policy = {"sms_after_s": 0, "call_after_s": None, "repeats": 0, "repeat_interval_s": 60}
    sent = await ok(await send(client, bureau, chen, {"families": [C1]}, policy=policy), 201)
    async with db.transaction() as tx:
        reserved = dict((await tx.session.execute(select(PaidUsage.key, PaidUsage.used).where(PaidUsage.scope == "number"))).all())
    assert reserved == {"+8613900000001": 1, "+8613900000002": 1, "+8613900000003": 1}

    async def texted() -> bool:
        async with db.transaction() as tx:
            to = set(await tx.session.scalars(select(OutboundMessage.to).where(OutboundMessage.broadcast_id == sent["id"], OutboundMessage.channel == "sms")))
        return to == set(reserved)

    for _ in range(200):  # the escalation worker queues each guardian's SMS at once (sms_after_s 0)
        if await texted():
            break
        await asyncio.sleep(0.05)
    assert await texted()


async def class_of_families(client, bureau: Bureau, name: str, count: int) -> int:
    """A new class of Grade 1 with ``count`` children, each with a guardian who has an account (rows in bulk), and Chen Jing
    as its head teacher."""
    unit = await ok(await client.post(bureau.url("/units"), json={"kind": "class", "name": name, "parent_id": bureau.units["S0101-G1"]},
                                      headers=bureau.owner), 201)
    chen = await bureau.staff_id("T0004")
    await ok(await client.post(bureau.url(f"/units/{unit['id']}/roles"), json={"user_id": chen, "role": "head_teacher"}, headers=bureau.owner), 201)
    now = utcnow()
    async with bureau.db.transaction(org_id=bureau.org.id) as tx:
        users = list(await tx.session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), [
            {"name": f"{name} parent {i}", "email": f"{name}.{i}.{bureau.org.id}@example.org", "kind": "person", "totp_enabled": False,
             "created_at": now} for i in range(count)]))
        guardians = list(await tx.session.scalars(insert(Guardian).returning(Guardian.id, sort_by_parameter_order=True), [
            {"org_id": bureau.org.id, "user_id": u, "name": f"{name} parent {i}", "phone": f"+86137{unit['id'] % 100:02d}{i:06d}",
             "match_key": f"{name}-{i}"} for i, u in enumerate(users)]))
        students = list(await tx.session.scalars(insert(Student).returning(Student.id, sort_by_parameter_order=True), [
            {"org_id": bureau.org.id, "external_id": f"{name}-{i}", "name": f"{name} child {i}", "class_id": unit["id"]} for i in range(count)]))
        await tx.session.execute(insert(StudentGuardian), [
            {"org_id": bureau.org.id, "student_id": s, "guardian_id": g, "relation": "mother"} for s, g in zip(students, guardians)])
    return unit["id"]


async def statements_to_send(app, bureau: Bureau, class_id: int) -> list[str]:
    """The statements of a head teacher's send to a class's families, from the sender's check to the stored recipient rows and
    first escalation steps, on the transaction's own connection."""
    chen = await bureau.staff_id("T0004")
    org = OrgContext(bureau.org.id, Principal(user_id=chen, session_id=0, name="Chen Jing"), 1, "member")
    policy = {"sms_after_s": 60, "call_after_s": None, "repeats": 0, "repeat_interval_s": 60, "push_after_s": 5}
    audience = Audience({"families": [class_id]})
    statements: list[str] = []
    async with bureau.db.transaction(org_id=bureau.org.id) as tx:
        ours = (await tx.session.connection()).sync_connection

        def record(conn, _cursor, statement, *_args) -> None:
            if conn is ours:
                statements.append(statement)

        event.listen(bureau.db.engine.sync_engine, "before_cursor_execute", record)
        try:
            await check_audience_within(tx, audience, await check_may_send(tx, org))
            recipients, _ = await expand_recipients(tx, audience, phone_region="CN")
            broadcast = await do_send_broadcast(tx, org, app[NOTIFY_SETTINGS], title="t", body="b", attachments=[], policy=policy, priority=5,
                                                recipients=recipients)
            await do_store_recipients(tx, broadcast.id)
        finally:
            event.remove(bureau.db.engine.sync_engine, "before_cursor_execute", record)
        stored = await tx.session.scalar(select(func.count()).select_from(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == broadcast.id))
    assert stored == len(recipients)
    return statements


async def test_sending_to_a_classs_families_costs_the_same_statements_for_10_and_for_1000_guardians(app, client, db, bureau, backend):
    small = await class_of_families(client, bureau, "Small", 10)
    large = await class_of_families(client, bureau, "Large", 1000)
    small_cost = await statements_to_send(app, bureau, small)
    large_cost = await statements_to_send(app, bureau, large)
    assert len(small_cost) == len(large_cost), "\n".join(large_cost)
    assert len(large_cost) < 40
