"""bench/health.py's submissions alone: what a guardian's submission costs the server and PostgreSQL, in CPU.

    python bench/health_submissions.py --scale 0.05 --rate 100 --duration 10 --rounds 2

The city at ``--scale`` is imported through the API into a fresh PostgreSQL
database (dropped at the end) served by ``python -m server serve`` in its
default configuration; then, ``--rounds`` times, a health report is sent to
every child of the bureau and guardians submit to it as bench/health.py's
submissions phase has them (its ``submissions_part``, its options; the
dashboards are asked every ``--dashboard-every-s``, 9 s by default here, so
that the CPU counted is the submissions'). Each round's
``cpu_us_per_submission`` is the CPU of the server's process and its
PostgreSQL backends during the window, per stored submission. The last line
of stdout is one JSON object.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from server.db import Database  # noqa: E402
import health  # noqa: E402
from fanout import ServerNode, log  # noqa: E402
from schools_data import City, write_files  # noqa: E402

KEPT = ("submissions", "submissions_per_s", "submit_p50_ms", "submit_p99_ms", "lost", "duplicated", "wrong_answers", "resubmitted_same",
        "cpu_us_per_submission", "cpu_s", "dashboard_calls", "load_avg_before_load")


async def run(args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="muster-submissions-"))
    database, url = await health.member_bench.create_database(args.postgres)
    node = db = None
    result: dict = {"bench": "health_submissions", "scale": args.scale, "rate": args.rate, "duration_s": args.duration}
    try:
        node = ServerNode(workdir / "data", url)
        await node.wait_ready(180)
        db = Database(url)
        org_id, admin_id = await health.make_admin(db)
        tokens: dict[int, str] = {}
        await health.sign_in(db, tokens, [admin_id])
        files = write_files(workdir / "city", City(args.scale), "csv")
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=900)) as http:
            api = health.Api(http, node.url, tokens[admin_id])
            _, job = await health.import_city(api, org_id, files)
            if job["status"] != "done" or job["failed"]:
                raise SystemExit(f"the import ended {job['status']} with {job['failed']} rows refused")
            bureau = await health.read_bureau(db, org_id)
            bureau.tokens = tokens
            form = await api.call("POST", f"/orgs/{org_id}/forms", json=health.HEALTH_FORM, expect=(201,))
            rounds = []
            for _ in range(args.rounds):
                round_ = await api.call("POST", f"/orgs/{org_id}/forms/{form['id']}/rounds", expect=(201,), json={
                    "audience": {"department_ids": [bureau.bureau_id]}, "respondent_kind": health.KIND,
                    "closes_at": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=12)).isoformat()})
                part = await health.submissions_part(args, api, db, node, database, bureau, round_)
                rounds.append({k: part[k] for k in KEPT})
                log(f"round: {rounds[-1]}")
            result["rounds"] = rounds
    finally:
        if node is not None:
            node.stop()
        if db is not None:
            await db.close()
        await health.member_bench.drop_database(args.postgres, database)
        shutil.rmtree(workdir, ignore_errors=True)
    result["load_avg"] = [round(x, 1) for x in os.getloadavg()]
    return result


def parse_args(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds sent and submitted to, one after the other")
    own, rest = parser.parse_known_args(argv)
    args = health.parse_args(["--scale", "0.05", "--rate", "100", "--duration", "10", "--load-procs", "1", "--load-conns", "32",
                              "--resubmit", "100", "--dashboard-every-s", "9", *rest])
    args.rounds = own.rounds
    return args


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(parse_args()))), flush=True)
