"""Retention benchmark: the pruning job deletes 1,000,000 old per-user events on PostgreSQL while events are sent.

    python bench/prune_events.py                          # 1,000 people x 1,000 old events each
    python bench/prune_events.py --people 100 --old 1000  # quicker

On a fresh PostgreSQL database (dropped at the end), ``--people`` people each
get ``--old`` events stamped 40 days ago and ``--recent`` new ones (one
``INSERT ... SELECT generate_series``, then VACUUM ANALYZE, as a table that
grew for weeks would be). Then the retention job (server/retention/job.py,
its default settings: 30 days, 10,000 per person, 5,000 rows per transaction)
runs its per-user events pruning once, while another task sends one event to
every one of those people every 0.2 s through ``emit``, as the API does.

Reported: ``deleted`` and ``rows_per_s`` (wall clock), ``cpu`` (bench/cpu.py:
this process, which runs the job, and the database's backends), the
``emit`` times during the purge against those before it (a pruning that
held locks would make them wait), and ``left`` (must be people x recent).
Progress goes to stderr; the last line of stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text  # noqa: E402

from server.config import Settings  # noqa: E402
from server.db import Database  # noqa: E402
from server.db.migrate import upgrade_async  # noqa: E402
from server.gateway.events import emit  # noqa: E402
from server.gateway.models import UserEvent  # noqa: E402
from server.gateway.pruning import event_pruning  # noqa: E402
from server.retention.job import do_prune  # noqa: E402
from tests import services  # noqa: E402
from tests.notify.people import make_crowd  # noqa: E402
from cpu import CpuMeter  # noqa: E402  (bench/, beside this file)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


async def seed(db: Database, people: int, old: int, recent: int) -> list[int]:
    _, owner, _, members = await make_crowd(db, people - 1, phones=False, tag="prune")
    users = [owner] + [u for u, _ in members]
    async with db.transaction() as tx:
        await tx.session.execute(text(
            "INSERT INTO user_events (user_id, seq, type, data, created_at) "
            "SELECT u, s, 'bench.event', '{\"n\": 1}'::jsonb, now() - CASE WHEN s <= :old THEN interval '40 days' ELSE interval '1 hour' END "
            "FROM unnest(CAST(:users AS bigint[])) AS u, generate_series(1, :total) AS s"
        ), {"users": users, "old": old, "total": old + recent})
        await tx.session.execute(text("UPDATE user_streams SET last_seq = :total WHERE user_id = ANY(CAST(:users AS bigint[]))"),
                                 {"users": users, "total": old + recent})
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE user_events"))
        await conn.execute(text("VACUUM ANALYZE user_streams"))
    return users


async def keep_emitting(db: Database, users: list[int], stop: asyncio.Event, times: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        async with db.transaction() as tx:
            await emit(tx, users, "bench.live", {})
        times.append(time.perf_counter() - started)
        try:
            await asyncio.wait_for(stop.wait(), 0.2)
        except TimeoutError:
            pass


async def run(args, url: str) -> dict:
    name = url.rsplit("/", 1)[1]
    await upgrade_async(url)
    db = Database(url)
    try:
        log(f"seeding {args.people} people x {args.old + args.recent} events")
        users = await seed(db, args.people, args.old, args.recent)
        settings = Settings(database_url=url, secret_key="x" * 32)
        baseline: list[float] = []
        stop = asyncio.Event()
        emitting = asyncio.create_task(keep_emitting(db, users, stop, baseline))
        await asyncio.sleep(3)
        stop.set()
        await emitting
        during: list[float] = []
        stop = asyncio.Event()
        emitting = asyncio.create_task(keep_emitting(db, users, stop, during))
        meter = CpuMeter(os.getpid(), database=name)
        log("pruning")
        meter.start()
        started = time.perf_counter()
        deleted = await do_prune(db, [event_pruning(settings)], node="bench")
        wall = time.perf_counter() - started
        cpu = await meter.stop()
        stop.set()
        await emitting
        async with db.transaction() as tx:
            left = await tx.session.scalar(select(func.count()).select_from(UserEvent).where(UserEvent.type == "bench.event"))
        total = sum(deleted.values())
        return {
            "bench": "prune_events", "people": args.people, "deleted": total, "wall_s": round(wall, 2),
            "rows_per_s": round(total / wall), "cpu": cpu, "rows_per_cpu_s": round(total / cpu["all"]) if cpu["all"] else None,
            "emit_to_people_ms_before": {"p50": round(percentile(baseline, 50) * 1000, 1), "max": round(max(baseline) * 1000, 1)},
            "emit_to_people_ms_during": {"p50": round(percentile(during, 50) * 1000, 1), "max": round(max(during) * 1000, 1), "n": len(during)},
            "left": left, "left_expected": args.people * args.recent,
        }
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--old", type=int, default=1000, help="events per person older than the 30 days kept")
    parser.add_argument("--recent", type=int, default=5, help="events per person within them")
    args = parser.parse_args()
    url = services.create_postgres_database()
    try:
        result = asyncio.run(run(args, url))
    finally:
        services.drop_postgres_database(url)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
