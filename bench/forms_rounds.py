"""Form rounds at a city's size, on PostgreSQL, through the functions behind the API (no HTTP): a quick measurement.

    python bench/forms_rounds.py                    # 480,000 respondents in 13 districts, 1,300 schools, 39,000 classes
    python bench/forms_rounds.py --respondents 50000

It makes a fresh database (dropped at the end) with the department tree and
one member per respondent written in bulk, then measures: opening a round
(its respondents and counters written), submissions (``do_submit``, one
transaction each, ``--clients`` at once), dashboards at each level and a
class's missing list while submissions go on (p95), a reminder through the
whole round (every connected non-submitter told in the app once; one in 24 is "connected"), and the CSV and XLSX exports.
``bench/health.py`` measures the whole scenario through HTTP; this one says
where the time of the rounds' own SQL goes. Progress on stderr; the last line
of stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
import time
import uuid
import zoneinfo
from collections import Counter

import asyncpg
import psutil
from sqlalchemy import func, select, text

from server.accounts.auth import Principal
from server.audiences.expand import Audience
from server.channels.config import ChannelSettings
from server.db import Database, utcnow
from server.db.migrate import upgrade
from server import table_export
from server.forms import dashboard, export
from server.forms.models import Form, FormReminder, FormVersion, RoundRespondent
from server.forms.reminders import claim_due, do_remind_batch
from server.forms.rounds import do_create_round, do_open_round, get_round
from server.forms.submissions import do_submit
from server.gateway.models import UserEvent
from server.orgs.access import OrgContext

DEFAULT_POSTGRES = os.environ.get("MUSTER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
DISTRICTS, SCHOOLS, CLASSES = 13, 100, 30  # per bureau, per district, per school
HEALTH = {"fields": [
    {"name": "temperature", "type": "temperature", "label": "Temperature", "required": True, "min": 34, "max": 43, "abnormal": {"op": "ge", "value": 37.3}},
    {"name": "symptoms", "type": "yes_no", "label": "Symptoms", "required": True, "abnormal": {"op": "eq", "value": True}},
]}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1) if ordered else 0.0


class SomeConnected:
    """One person in 24 with a device connected (20,000 of 480,000, as bench/health.py connects)."""

    async def connected(self, user_ids):
        return {u for u in user_ids if u % 24 == 0}


async def build(db: Database, respondents: int) -> tuple[int, int, list[int], dict[str, int]]:
    """The organisation, its tree and its people, written with SQL in bulk: (org id, form id, class ids, sample department ids)."""
    async with db.transaction() as tx:
        run = tx.session.execute
        org_id = (await run(text("INSERT INTO organisations (name, slug, time_zone, created_at) VALUES ('Bureau', 'bureau', 'Asia/Shanghai', now()) RETURNING id"))).scalar()
        await run(text("INSERT INTO departments (org_id, name, path, created_at) VALUES (:o, 'Bureau', '', now())"), {"o": org_id})
        await run(text("UPDATE departments SET path = '/' || id || '/' WHERE org_id = :o"), {"o": org_id})
        for level, (name, per) in enumerate((("District", DISTRICTS), ("School", SCHOOLS), ("Class", CLASSES)), 1):
            await run(text(f"""
                INSERT INTO departments (org_id, parent_id, name, path, created_at)
                SELECT :o, d.id, '{name} ' || n, '', now() FROM departments d, generate_series(1, :per) n
                WHERE d.org_id = :o AND length(d.path) - length(replace(d.path, '/', '')) = :slashes
            """), {"o": org_id, "per": per, "slashes": level + 1})
            await run(text("""
                UPDATE departments c SET path = p.path || c.id || '/' FROM departments p
                WHERE c.org_id = :o AND c.parent_id = p.id AND c.path = ''
            """), {"o": org_id})
        classes = list((await run(text("SELECT id FROM departments WHERE org_id = :o AND name LIKE 'Class %' ORDER BY id"), {"o": org_id})).scalars())
        await run(text("""
            INSERT INTO users (kind, name, email, totp_enabled, created_at)
            SELECT 'person', 'Pupil ' || n, 'p' || n || '@bench.example', false, now() FROM generate_series(1, :n) n
        """), {"n": respondents})
        await run(text("""
            INSERT INTO memberships (org_id, user_id, role, department_id, display_name, phone, title, created_at, name_sort_key, name_search_key)
            SELECT :o, u.id, 'member', (CAST(:classes AS bigint[]))[1 + (row_number() OVER (ORDER BY u.id) - 1) % cardinality(CAST(:classes AS bigint[]))], u.name,
                   '+86139' || lpad(u.id::text, 8, '0'), '', now(), u.name, ''
            FROM users u WHERE u.email LIKE '%@bench.example'
        """), {"o": org_id, "classes": classes})
        owner = (await run(text("INSERT INTO users (kind, name, email, totp_enabled, created_at) VALUES ('person', 'Owner', 'owner@bench.example', false, now()) RETURNING id"))).scalar()
        await run(text("INSERT INTO memberships (org_id, user_id, role, display_name, title, created_at, name_sort_key, name_search_key) "
                       "VALUES (:o, :u, 'owner', 'Owner', '', now(), 'Owner', '')"), {"o": org_id, "u": owner})
    async with db.transaction(org_id=org_id) as tx:
        form = Form(org_id=org_id, title="Daily health report", created_by=owner, current_version=1)
        tx.session.add(form)
        await tx.session.flush()
        tx.session.add(FormVersion(org_id=org_id, form_id=form.id, number=1, definition=HEALTH, created_by=owner))
        await tx.session.flush()
        sample = {}
        for level, like in (("district", "District %"), ("school", "School %"), ("class", "Class %")):
            sample[level] = (await tx.session.execute(text("SELECT id FROM departments WHERE org_id = :o AND name LIKE :l ORDER BY id LIMIT 1"),
                                                      {"o": org_id, "l": like})).scalar()
        await tx.session.execute(text("ANALYZE"))
        return org_id, form.id, classes, sample | {"owner": owner}


async def main(args) -> dict:
    admin = await asyncpg.connect(DEFAULT_POSTGRES)
    name = f"muster_bench_rounds_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = DEFAULT_POSTGRES.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/" + name
    try:
        await asyncio.to_thread(upgrade, url)
        db = Database(url, pool_size=args.clients + 5)
        result = await run(db, args)
        await db.close()
        return result
    finally:
        if args.keep:
            say(f"kept the database {name}")
        else:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run(db: Database, args) -> dict:
    t0 = time.perf_counter()
    org_id, form_id, classes, sample = await build(db, args.respondents)
    result: dict = {"respondents": args.respondents, "classes": len(classes), "build_s": round(time.perf_counter() - t0, 1)}
    say(f"built {args.respondents} people in {len(classes)} classes in {result['build_s']} s")
    async with db.transaction(org_id=org_id) as tx:
        form = await tx.session.get(Form, form_id)
        round_ = await do_create_round(tx, form, created_by=sample["owner"], audience=Audience({}, everyone=True), kind="user",
                                       opens_at=utcnow(), closes_at=utcnow() + dt.timedelta(hours=8))
    t = time.perf_counter()
    async with db.transaction(org_id=org_id) as tx:
        await do_open_round(tx, round_.id)
    result["open_round_s"] = round(time.perf_counter() - t, 2)
    async with db.transaction(org_id=org_id) as tx:
        round_ = await get_round(tx, round_.id)
    say(f"opened the round ({round_.expected} expected) in {result['open_round_s']} s")

    people = list(range(1, args.respondents + 1))  # the users made first have ids 1..n
    submitted = people[: args.submissions]
    latencies: list[float] = []
    queue = asyncio.Queue()
    for user_id in submitted:
        queue.put_nowait(user_id)

    async def submitter() -> None:
        while not queue.empty():
            user_id = queue.get_nowait()
            org = OrgContext(org_id, Principal(user_id, 0, "Pupil"), None, "member")
            started = time.perf_counter()
            async with db.transaction(org_id=org_id) as tx:
                await do_submit(tx, org, round_, respondent_id=user_id, client_id=uuid.uuid4().hex,
                                answers={"temperature": 36.5 + (user_id % 20) / 10, "symptoms": user_id % 50 == 0})
            latencies.append(time.perf_counter() - started)

    reads: dict[str, list[float]] = {"bureau": [], "district": [], "school": [], "class": [], "missing_class": [], "missing_bureau": []}

    async def reader(rounds: int | None = None) -> None:
        """Each level's roll-up with its children, and a missing list, again and again: while submissions go on, or ``rounds`` times."""
        while (not queue.empty()) if rounds is None else rounds > 0:
            rounds = None if rounds is None else rounds - 1
            for level in ("bureau", "district", "school", "class"):
                started = time.perf_counter()
                async with db.transaction(org_id=org_id) as tx:
                    node, _ = await dashboard.node_for(tx, [dashboard.ROOT], None if level == "bureau" else sample[level])
                    await dashboard.breakdown(tx, round_.id, node, [dashboard.ROOT])
                reads[level].append(time.perf_counter() - started)
            for key, department in (("missing_class", sample["class"]), ("missing_bureau", None)):
                started = time.perf_counter()
                async with db.transaction(org_id=org_id) as tx:
                    node, paths = await dashboard.node_for(tx, [dashboard.ROOT], department)
                    await dashboard.respondents_page(tx, round_, node, paths, state="missing", after=None, limit=50)
                reads[key].append(time.perf_counter() - started)
            await asyncio.sleep(0.05)

    cpu = psutil.Process().cpu_times()
    t = time.perf_counter()
    await asyncio.gather(*(submitter() for _ in range(args.clients)), reader())
    elapsed = time.perf_counter() - t
    cpu_after = psutil.Process().cpu_times()
    result |= {"submissions": len(latencies), "submissions_per_s": round(len(latencies) / elapsed), "submit_p50_ms": p(latencies, 0.5),
               "submit_p99_ms": p(latencies, 0.99), "client_cpu_us_per_submission": round((cpu_after.user + cpu_after.system - cpu.user - cpu.system) / len(latencies) * 1e6)}
    result |= {f"dashboard_{k}_p95_ms": p(v, 0.95) for k, v in reads.items()}
    for v in reads.values():  # and alone: the same reads without this process's own submitters queueing ahead of them on its event loop
        v.clear()
    await reader(rounds=20)
    result |= {f"dashboard_{k}_alone_p95_ms": p(v, 0.95) for k, v in reads.items()}
    say(f"submissions: {result['submissions_per_s']}/s, p99 {result['submit_p99_ms']} ms; dashboards {[result[f'dashboard_{k}_p95_ms'] for k in reads]}")

    async with db.transaction(org_id=org_id) as tx:
        tx.session.add(FormReminder(org_id=org_id, round_id=round_.id, due_at=utcnow(), created_by=sample["owner"]))
    t = time.perf_counter()
    told = 0
    for reminder_id, rorg in await claim_due(db, node="bench"):
        while True:
            batch = await do_remind_batch(db, reminder_id, rorg, node="bench", size=args.reminder_batch, presence=SomeConnected(),
                                          channels=ChannelSettings(),
                                          public_url="http://bench", default_locale="en")
            if batch is None:
                break
            told += batch.reminded
            if not batch.more:
                break
    result["reminder_s"] = round(time.perf_counter() - t, 2)
    async with db.transaction() as tx:
        per_user = Counter(dict((await tx.session.execute(select(UserEvent.user_id, func.count()).where(UserEvent.type == "form.reminder")
                                                           .group_by(UserEvent.user_id))).all()))
        done = set(await tx.session.scalars(select(RoundRespondent.respondent_id).where(RoundRespondent.submitted.is_(True))))
    result |= {"reminded": told, "reminded_in_app": len(per_user), "reminded_twice": sum(1 for n in per_user.values() if n > 1),
               "reminded_submitters": len(done & set(per_user))}
    say(f"reminded {told} in {result['reminder_s']} s")

    zone = zoneinfo.ZoneInfo("Asia/Shanghai")
    plan = await export.plan_export(db, org_id, [round_], zone)
    t = time.perf_counter()
    rows = 0
    async for page in export.rows(db, plan):
        rows += len(page)
        for row in page:
            [export.csv_cell(v) for v in row]
    result |= {"export_rows": rows, "export_csv_s": round(time.perf_counter() - t, 2)}
    t = time.perf_counter()
    path = f"/tmp/{uuid.uuid4().hex}.xlsx"
    await table_export.write_xlsx(path, plan.header, export.rows(db, plan), "submissions")
    result["export_xlsx_s"] = round(time.perf_counter() - t, 2)
    os.unlink(path)
    result["rss_mb"] = round(psutil.Process().memory_info().rss / 2**20)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--respondents", type=int, default=480_000)
    parser.add_argument("--submissions", type=int, default=20_000, help="how many of them submit during the measurement")
    parser.add_argument("--clients", type=int, default=32, help="submissions in flight at once")
    parser.add_argument("--reminder-batch", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the database (to look at plans); drop it yourself")
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
