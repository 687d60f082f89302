"""How long expanding a city's families (and staff) takes: the audience behind a district's or the bureau's notice.

    python bench/families_expand.py --scale 0.25

A fresh PostgreSQL database (dropped at the end) gets ``bench/schools_data.py``'s city at ``--scale`` (imported as
``muster schools import`` does), then the bureau's and one district's ``families``, and ``families`` + ``staff``, are
resolved, streamed a chunk at a time (schools/audiences.py, server/audiences/expand.py) and counted. The last line of
stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1])]

import schools_data  # noqa: E402  (bench/schools_data.py: the city)


async def expand(db, org_id: int, parts: dict) -> dict:
    from server.audiences.expand import Audience, resolve_audience

    async with db.transaction(org_id=org_id) as tx:
        started = time.perf_counter()
        resolved = await resolve_audience(tx, Audience(parts))
        people = 0
        async for chunk in resolved.chunks(tx):
            people += len(chunk)
        expand_s = time.perf_counter() - started
        started = time.perf_counter()
        counted = await resolved.count(tx)
        return {"people": people, "counted": counted, "expand_s": round(expand_s, 2), "count_s": round(time.perf_counter() - started, 2)}


async def bench(args: argparse.Namespace) -> dict:
    member_bench = importlib.import_module("import")  # bench/import.py: its database helpers
    from sqlalchemy import select, text

    import schools.audiences  # noqa: F401  (registers the kinds)
    from schools.imports.run import do_import_hierarchy
    from schools.models import SchoolUnit
    from server.orgs.imports.limits import ImportLimits

    city = schools_data.City(args.scale)
    files = schools_data.write_files(Path(tempfile.mkdtemp(prefix="muster-families-")), city, "csv")
    result: dict = {"bench": "families_expand", "scale": args.scale}
    try:
        async with member_bench.organisation_in_fresh_database(args.postgres_url, name="City Education Bureau", slug="city") as (db, _, org_id):
            started = time.perf_counter()
            await do_import_hierarchy(db, org_id, files, region="CN", limits=ImportLimits(4_000_000, 64, 4 << 30))
            result["import_s"] = round(time.perf_counter() - started, 1)
            async with db.transaction() as tx:
                await tx.session.execute(text("ANALYZE"))
            async with db.transaction(org_id=org_id) as tx:
                bureau = await tx.session.scalar(select(SchoolUnit.department_id).where(SchoolUnit.kind == "bureau"))
                district = await tx.session.scalar(select(SchoolUnit.department_id).where(SchoolUnit.kind == "district").limit(1))
            for label, unit in (("bureau", bureau), ("district", district)):
                result[f"{label}_families"] = await expand(db, org_id, {"families": [unit]})
                result[f"{label}_families_and_staff"] = await expand(db, org_id, {"families": [unit], "staff": [unit]})
                print(result, file=sys.stderr)
    finally:
        for _, path in files:
            path.unlink(missing_ok=True)
    result["load_avg_at_end"] = [round(load, 1) for load in os.getloadavg()]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.25, help="a share of the full city (480,000 people); default 0.25")
    parser.add_argument("--postgres-url", default=os.environ.get("MUSTER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"),
                        help="an admin URL of the PostgreSQL server; a fresh database is created beside it and dropped")
    print(json.dumps(asyncio.run(bench(parser.parse_args()))))


if __name__ == "__main__":
    main()
