"""A guardian whose last child leaves the roll (archived by hand, departed in an import, graduated by the rollover) is
revoked from the bureau in that transaction (server/revocation.py): the pending SMS steps of the notices that went to
them end, while a guardian who still has a child on the roll keeps theirs."""
from __future__ import annotations

from sqlalchemy import select

from notify.models import BroadcastRecipient, EscalationStep
from schools.models import Guardian
from schools.rollover import do_rollover
from tests.schools.conftest import Bureau, import_files
from tests.server.orgs.conftest import ok

POLICY = {"sms_after_s": 600, "call_after_s": None, "repeats": 0, "repeat_interval_s": 300}


async def notice_to_families(client, bureau: Bureau, *classes: str) -> int:
    body = {"title": "Sports day", "body": "On Friday.", "recipients": {"parts": {"families": [bureau.units[c] for c in classes]}},
            "policy": POLICY}
    return (await ok(await client.post(bureau.org.url("/broadcasts"), json=body, headers=bureau.owner), 201))["id"]


async def pending_steps(bureau: Bureau, broadcast_id: int) -> dict[str, int]:
    """Phone of each guardian → how many of their escalation steps are still to run."""
    async with bureau.db.transaction(org_id=bureau.org.id) as tx:
        rows = (await tx.session.execute(
            select(Guardian.phone, EscalationStep.done_at, EscalationStep.outcome)
            .join(BroadcastRecipient, BroadcastRecipient.id == EscalationStep.recipient_id)
            .join(Guardian, Guardian.user_id == BroadcastRecipient.user_id)
            .where(EscalationStep.broadcast_id == broadcast_id)
        )).all()
    found: dict[str, int] = {}
    for phone, done_at, outcome in rows:
        found[phone] = found.get(phone, 0) + (done_at is None)
        assert done_at is None or outcome == "revoked"
    return found


async def test_archiving_a_guardians_last_child_ends_their_notices_escalation(client, bureau: Bureau):
    sent = await notice_to_families(client, bureau, "S0101-G1C1")  # Wang Fang, Wang Wei (Wang Xiaoming), Liu Qiang (Liu Yang)
    assert await pending_steps(bureau, sent) == {"+8613900000001": 1, "+8613900000002": 1, "+8613900000003": 1}
    liu = await bureau.guardian("+8613900000003")
    await ok(await client.patch(bureau.url(f"/students/{bureau.students['P0003']}"), json={"archived": True}, headers=bureau.owner))
    assert await pending_steps(bureau, sent) == {"+8613900000001": 1, "+8613900000002": 1, "+8613900000003": 0}
    assert (await client.get(bureau.url("/me"), headers=liu)).status == 404
    # Wang Fang keeps hers while a child of hers is on a roll (in the other school)
    await ok(await client.patch(bureau.url(f"/students/{bureau.students['P0001']}"), json={"archived": True}, headers=bureau.owner))
    assert await pending_steps(bureau, sent) == {"+8613900000001": 1, "+8613900000002": 0, "+8613900000003": 0}


async def test_a_guardian_a_member_too_is_not_revoked_when_their_child_leaves(client, bureau: Bureau):
    body = {"external_id": "P0200", "name": "Chen Xiao", "class_id": bureau.units["S0101-G1C2"],
            "guardians": [{"name": "Chen Jing", "phone": "+8613800000104", "relation": "mother"}]}  # a teacher of the school
    child = await ok(await client.post(bureau.url("/students"), json=body, headers=bureau.owner), 201)
    sent = await notice_to_families(client, bureau, "S0101-G1C2")
    await ok(await client.patch(bureau.url(f"/students/{child['id']}"), json={"archived": True}, headers=bureau.owner))
    chen = await bureau.staff("T0004")
    assert (await client.get(bureau.url("/units"), headers=chen)).status == 200  # still staff
    async with bureau.db.transaction(org_id=bureau.org.id) as tx:
        outcomes = set(await tx.session.scalars(select(EscalationStep.outcome).where(EscalationStep.broadcast_id == sent)))
    assert "revoked" not in outcomes


async def test_the_rollover_revokes_the_guardians_whose_last_child_graduated(client, bureau: Bureau):
    sent = await notice_to_families(client, bureau, "S0101-G6C1")  # Huang Mei (Huang Bo, graduating)
    assert await pending_steps(bureau, sent) == {"+8613900000005": 1}
    report = await do_rollover(bureau.db, bureau.org.id, "/", label="2025-2026", final_level=None, transfers=[])
    assert report.graduated_students == 2  # Huang Bo, and in South No. 3, whose highest grade is Grade 1, Wang Xiaohong
    assert await pending_steps(bureau, sent) == {"+8613900000005": 0}
    async with bureau.db.transaction(org_id=bureau.org.id) as tx:  # Wang Fang's other child moved up: she stays admitted
        assert await tx.session.scalar(select(Guardian.id).where(Guardian.phone == "+8613900000001")) is not None
    assert (await client.get(bureau.url("/me"), headers=await bureau.guardian("+8613900000001"))).status == 200


async def test_an_import_that_departs_a_guardians_last_child_ends_their_notices_escalation(client, bureau: Bureau, tmp_path):
    sent = await notice_to_families(client, bureau, "S0101-G1C2")  # Zhang Li (Zhang Lin)
    students = tmp_path / "students.csv"
    students.write_text("external_id,name,class,guardian1_name,guardian1_phone,guardian1_relation\n"
                        "P0001,Wang Xiaoming,S0101-G1C1,Wang Fang,13900000001,mother\n", encoding="utf-8")  # North No. 1 without Zhang Lin
    report = await import_files(bureau.db, bureau.org.id, [("students.csv", students)])
    assert report.counts["departed"] == 3  # Liu Yang, Zhang Lin, Huang Bo
    assert await pending_steps(bureau, sent) == {"+8613900000004": 0}


async def test_unlinking_a_guardian_from_their_last_child_ends_their_notices_escalation(client, bureau: Bureau):
    sent = await notice_to_families(client, bureau, "S0101-G1C1")
    liu = await bureau.guardian("+8613900000003")
    async with bureau.db.transaction(org_id=bureau.org.id) as tx:
        ids = dict((await tx.session.execute(select(Guardian.phone, Guardian.id))).all())
    # Wang Fang unlinked from Wang Xiaoming keeps hers: her other child is on a roll
    await ok(await client.delete(bureau.url(f"/students/{bureau.students['P0001']}/guardians/{ids['+8613900000001']}"), headers=bureau.owner), 204)
    assert await pending_steps(bureau, sent) == {"+8613900000001": 1, "+8613900000002": 1, "+8613900000003": 1}
    await ok(await client.delete(bureau.url(f"/students/{bureau.students['P0003']}/guardians/{ids['+8613900000003']}"), headers=bureau.owner), 204)
    assert await pending_steps(bureau, sent) == {"+8613900000001": 1, "+8613900000002": 1, "+8613900000003": 0}
    assert (await client.get(bureau.url("/me"), headers=liu)).status == 404
    assert (await client.get(bureau.org.url("/broadcasts/received"), headers=liu)).status == 404
