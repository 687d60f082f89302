"""A notice to every family and all staff of a city: how long its send request takes, and the CPU it costs.

    python bench/notice_send.py --scale 0.25 --sends 3

The city of bench/health.py (``--scale`` of 1,300 schools and 480,000 people)
is imported through the import API into a fresh PostgreSQL database (dropped
at the end) served by ``python -m server serve`` in its default
configuration. Then an organisation admin sends ``--sends`` notices to every
family and all staff of the bureau (``POST .../broadcasts``, no escalation),
one after the other, each timed from the request to its answer: the request
answers once the broadcast, its recipients' events and its recipient rows are
stored (notify/broadcasts.py). ``cpu`` is the CPU of the server's process and
its PostgreSQL backends (bench/cpu.py) during each send. No device is
connected: bench/health.py measures delivery. The last line of stdout is one
JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from server.db import Database  # noqa: E402
from health import DEFAULT_POSTGRES, NO_ESCALATION, Api, import_city, make_admin, member_bench, notice_audience, read_bureau, sign_in  # noqa: E402
from cpu import CpuMeter  # noqa: E402
from fanout import ServerNode, log  # noqa: E402
from schools_data import City, write_files  # noqa: E402


async def run(args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="muster-notice-"))
    database, url = await member_bench.create_database(args.postgres)
    node = db = None
    result: dict = {"bench": "notice_send", "scale": args.scale, "load_avg_at_start": [round(x, 1) for x in os.getloadavg()]}
    try:
        node = ServerNode(workdir / "data", url)
        await node.wait_ready(180)
        db = Database(url)
        org_id, admin_id = await make_admin(db)
        tokens: dict[int, str] = {}
        await sign_in(db, tokens, [admin_id])
        files = write_files(workdir / "city", City(args.scale), "csv")
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1800)) as http:
            api = Api(http, node.url, tokens[admin_id])
            import_s, job = await import_city(api, org_id, files)
            if job["status"] != "done" or job["failed"]:
                raise SystemExit(f"the import ended {job['status']} with {job['failed']} rows refused")
            log(f"import: {import_s:.1f} s")
            bureau = await read_bureau(db, org_id)
            sends = []
            for n in range(args.sends):
                meter = CpuMeter(node.process.pid, database)
                meter.start()
                started = time.perf_counter()
                notice = await api.call("POST", f"/orgs/{org_id}/broadcasts", expect=(201,), json={
                    "title": f"Notice {n + 1}", "body": "Flu is going round the city's schools.", "recipients": notice_audience(bureau),
                    "policy": NO_ESCALATION})
                send_s = time.perf_counter() - started
                cpu = await meter.stop()
                log(f"send {n + 1}: {notice['recipient_count']:,} recipients in {send_s:.2f} s; CPU {cpu}")
                sends.append({"send_s": round(send_s, 2), "cpu_node_s": cpu["node"], "cpu_database_s": cpu["database"]})
                result["recipients"] = notice["recipient_count"]
            result["sends"] = sends
    finally:
        if node is not None:
            node.stop()
        if db is not None:
            await db.close()
        await member_bench.drop_database(args.postgres, database)
        shutil.rmtree(workdir, ignore_errors=True)
    result["load_avg"] = [round(x, 1) for x in os.getloadavg()]
    return result


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.25, help="a share of the city (1: 480,000 people)")
    parser.add_argument("--sends", type=int, default=3, help="notices sent one after the other")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="an admin URL of the PostgreSQL server")
    return parser.parse_args(argv)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(parse_args()))), flush=True)
