"""What expanding a broadcast's recipients costs PostgreSQL, whatever plan it picks (notify/recipients.py)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import event, text

from notify.recipients import expand_recipients
from server.audiences.expand import Audience
from tests.notify.people import make_crowd

MEMBERS = 2000


def work(plan: dict) -> float:
    """Rows a plan node and its children produced or threw away, over all their loops."""
    loops = plan.get("Actual Loops", 1)
    rows = plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0) + plan.get("Rows Removed by Join Filter", 0)
    return rows * loops + sum(work(child) for child in plan.get("Plans", ()))


@pytest.mark.parametrize("backend", ["postgresql"])  # the planner is PostgreSQL's
async def test_naming_thousands_of_members_costs_work_linear_in_them_even_under_a_nested_loop_plan(db):
    """PostgreSQL picks a nested loop when it guesses an organisation has a member or two (a table never analysed, an
    organisation newer than the statistics: bench/urgent.py). With the ids as ``IN (SELECT unnest(:ids))`` it then
    searched the ids once per member, N²/2 rows (10,000 named: 3.5-7 s). Here nested loops are all it may use."""
    org_id, _, _, members = await make_crowd(db, MEMBERS, phones=False, tag="crowd")
    named = [user_id for user_id, _ in members]
    statements: list[tuple[str, tuple]] = []

    def seen(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if statement.startswith("SELECT") and "FROM memberships" in statement:
            statements.append((statement, parameters))

    async with db.transaction(org_id=org_id) as tx:
        for join in ("hashjoin", "mergejoin"):
            await tx.session.execute(text(f"SET LOCAL enable_{join} = off"))
        event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
        try:
            recipients, resolved = await expand_recipients(tx, Audience(parts={"users": named}), phone_region="GB")
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
        assert [r.user_id for r in recipients] == sorted(named) and not any(resolved.unknown.values())

        assert statements
        connection = await tx.session.connection()
        for statement, parameters in statements:
            explained = (await connection.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)).scalar()
            plan = (json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]
            assert work(plan) <= 10 * MEMBERS, statement[:200]
