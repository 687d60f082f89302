"""Member import benchmark: 100,000 people from a CSV into PostgreSQL, then the same file again.

    python bench/import.py                  # full size
    python bench/import.py --rows 10000     # quicker
    python bench/import.py --format xlsx    # the same people in an Excel workbook

It writes a CSV or XLSX (external_id, name, email, phone in mixed formatting,
a department among 50 in a two-level tree, title), creates a fresh PostgreSQL
database (dropped at the end), and imports the file through
``server.orgs.imports.run.do_import_members``, the function behind both the
API and ``muster import-members``. It measures rows per second, CPU seconds
(this process and PostgreSQL's backends: on a shared machine the wall clock
mostly measures the other load) and the process's resident memory, sampled
every 50 ms and also read at 10%, 50% and 100% of the rows, to show memory
stays flat while the file streams. A second import of the same file shows
idempotence (0 created, every row updated).

Progress goes to stderr; the last line of stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from contextlib import asynccontextmanager
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import asyncpg
import psutil

from server.accounts.users import do_create_user
from server.db import Database
from server.db.migrate import upgrade
from server.orgs.actions import do_create_org
from server.orgs.imports.run import BATCH_ROWS, ImportReport, do_import_members

DEFAULT_POSTGRES = os.environ.get("MUSTER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
GIVEN = ["Wei", "Fang", "Mei", "Omar", "Priya", "Lucas", "Hannah", "Kwame", "Sofia", "Noah", "Yuki", "Elena", "Ravi", "Chloe", "Ibrahim", "Ingrid"]
FAMILY = ["Zhang", "Wang", "Li", "Chen", "Liu", "Haddad", "Nair", "Moreau", "Schmidt", "Mensah", "Almeida", "Williams", "Tanaka", "Petrova"]
TITLES = ["Staff Nurse", "Physician", "Pharmacist", "Teacher", "Clerk", "Technician", "Manager", ""]
DIVISIONS, UNITS_PER_DIVISION = 10, 4  # 10 divisions + 40 units = 50 departments


def department_of(i: int) -> str:
    division, unit = i % DIVISIONS, (i // DIVISIONS) % (UNITS_PER_DIVISION + 1)
    return f"Division {division}" if unit == 0 else f"Division {division}/Unit {unit}"


def phone_of(i: int) -> str:
    """Valid Chinese mobile numbers, written the ways people write them."""
    digits = f"139{i:08d}"
    return (digits, f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}", f"{digits[:3]}-{digits[3:7]}-{digits[7:]}")[i % 3]


def member_rows(rows: int):
    yield ["external_id", "name", "email", "phone", "department", "title"]
    for i in range(rows):
        name = f"{GIVEN[i % len(GIVEN)]} {FAMILY[(i // len(GIVEN)) % len(FAMILY)]} {i}"
        yield [f"E{i:07d}", name, f"person{i}@bench.example", phone_of(i), department_of(i), TITLES[i % len(TITLES)]]


def write_csv(path: Path, rows: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(member_rows(rows))


XLSX_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
XLSX_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
XLSX_PACKAGE = {
    "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>",
    "_rels/.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{XLSX_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": f'<workbook xmlns="{XLSX_MAIN}" xmlns:r="{XLSX_RELS}"><sheets><sheet name="Members" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{XLSX_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{XLSX_RELS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
}


def write_xlsx(path: Path, rows: int) -> None:
    """As Excel saves a workbook: every text cell an index into one shared strings table.

    Written by hand because openpyxl's write-only mode stores text inline,
    which would hide the cost of that table from the reader.
    """
    strings: dict[str, int] = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, xml in XLSX_PACKAGE.items():
            package.writestr(name, xml)
        with package.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(f'<worksheet xmlns="{XLSX_MAIN}"><sheetData>'.encode())
            for number, row in enumerate(member_rows(rows), start=1):
                cells = "".join(f'<c r="{column}{number}" t="s"><v>{strings.setdefault(text, len(strings))}</v></c>' for column, text in zip("ABCDEF", row))
                sheet.write(f'<row r="{number}">{cells}</row>'.encode())
            sheet.write(b"</sheetData></worksheet>")
        with package.open("xl/sharedStrings.xml", "w") as table:
            table.write(f'<sst xmlns="{XLSX_MAIN}" uniqueCount="{len(strings)}">'.encode())
            for text in strings:
                table.write(f"<si><t>{xml_escape(text)}</t></si>".encode())
            table.write(b"</sst>")


class RssSampler:
    """Resident memory of this process, sampled in a thread so the peak between progress calls is seen too."""

    def __init__(self, every_s: float = 0.05):
        self._process = psutil.Process()
        self._every_s = every_s
        self._stop = threading.Event()
        self.peak = self.now()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> int:
        return self._process.memory_info().rss

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            self.peak = max(self.peak, self.now())

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now())


def mb(n: int) -> float:
    return round(n / 2**20, 1)


async def create_database(admin_url: str) -> tuple[str, str]:
    name = f"muster_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name, admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1) + "/" + name


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@asynccontextmanager
async def organisation_in_fresh_database(admin_url: str, *, name: str, slug: str):
    """A fresh migrated PostgreSQL database beside ``admin_url`` with one organisation and its owner:
    ``(db, database name, org id)``; the database is dropped afterwards."""
    database, url = await create_database(admin_url)
    try:
        await asyncio.to_thread(upgrade, url)
        db = Database(url)
        try:
            async with db.transaction() as tx:
                owner = await do_create_user(tx, name="Bench Owner", email="owner@bench.example")
                org = await do_create_org(tx, name=name, slug=slug, owner=owner)
            yield db, database, org.id
        finally:
            await db.close()
    finally:
        await drop_database(admin_url, database)


def postgres_cpu_s(database: str) -> float | None:
    """CPU seconds of the PostgreSQL backends serving ``database``, if they run on this machine and are visible."""
    total, seen = 0.0, False
    for process in psutil.process_iter(["cmdline"]):
        try:
            if any(database in part for part in process.info["cmdline"] or []):
                times = process.cpu_times()
                total, seen = total + times.user + times.system, True
        except psutil.Error:
            continue
    return total if seen else None


async def timed_import(db: Database, database: str, org_id: int, path: Path, rows: int, batch_rows: int, label: str) -> dict:
    checkpoints = {10: None, 50: None, 100: None}
    started = time.perf_counter()

    def on_progress(report: ImportReport) -> None:
        for percent in checkpoints:
            if checkpoints[percent] is None and report.rows * 100 >= rows * percent:
                checkpoints[percent] = mb(sampler.now())
        elapsed = time.perf_counter() - started
        print(f"\r{label}: {report.rows:,}/{rows:,} rows  {report.rows / elapsed:,.0f} rows/s  rss {mb(sampler.now())} MB", end="", file=sys.stderr, flush=True)

    postgres_cpu_before, python_cpu_before = postgres_cpu_s(database), time.process_time()
    with RssSampler() as sampler:
        before = mb(sampler.now())
        report = await do_import_members(db, org_id, path, phone_region="CN", on_progress=on_progress, batch_rows=batch_rows)
    seconds = time.perf_counter() - started
    python_cpu, postgres_cpu = time.process_time() - python_cpu_before, postgres_cpu_s(database)
    print(file=sys.stderr)
    return {
        "rows": report.rows,
        "created": report.created,
        "updated": report.updated,
        "failed": report.failed,
        "seconds": round(seconds, 2),
        "rows_per_s": round(report.rows / seconds),
        # On a shared machine wall time mostly measures the other load; CPU time is what the import cost.
        "cpu_s": {"python": round(python_cpu, 1), "postgres": None if postgres_cpu is None else round(postgres_cpu - postgres_cpu_before, 1)},
        "rss_mb_before": before,
        "peak_rss_mb": mb(sampler.peak),
        "rss_mb_at": {f"{p}%": v for p, v in checkpoints.items()},
        "first_errors": [e.message for e in report.errors[:3]],
    }


async def bench(args: argparse.Namespace) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="muster-bench-import-"))
    path = workdir / f"members.{args.format}"
    # Written by another process, so what writing costs in memory is not counted as the import's.
    writer = multiprocessing.get_context("spawn").Process(target=write_xlsx if args.format == "xlsx" else write_csv, args=(path, args.rows))
    writer.start()
    writer.join()
    if writer.exitcode != 0:
        raise SystemExit(f"writing {path} failed")
    print(f"wrote {args.rows:,} rows ({path.stat().st_size / 2**20:.1f} MB) to {path}", file=sys.stderr)
    try:
        async with organisation_in_fresh_database(args.postgres_url, name="Bench", slug="bench") as (db, name, org_id):
            first = await timed_import(db, name, org_id, path, args.rows, args.batch_rows, "first import")
            second = await timed_import(db, name, org_id, path, args.rows, args.batch_rows, "second import")
    finally:
        path.unlink(missing_ok=True)
        workdir.rmdir()
    return {
        "bench": "member_import",
        "database": "postgresql",
        "format": args.format,
        "rows": first["rows"],
        "rows_per_s": first["rows_per_s"],
        "seconds": first["seconds"],
        "peak_rss_mb": max(first["peak_rss_mb"], second["peak_rss_mb"]),
        "rss_mb_before": first["rss_mb_before"],
        "rss_mb_at": first["rss_mb_at"],
        "created": first["created"],
        "failed": first["failed"],
        "batch_rows": args.batch_rows,
        "cpus": os.cpu_count(),
        "load_avg_at_end": [round(load, 1) for load in os.getloadavg()],
        "cpu_s": first["cpu_s"],
        "second_import": {k: second[k] for k in ("created", "updated", "failed", "seconds", "rows_per_s", "cpu_s", "peak_rss_mb", "rss_mb_at")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--rows", type=int, default=100_000, help="members in the generated file (default 100,000)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help=f"an admin URL of the PostgreSQL server; a fresh database is created beside it and dropped (default {DEFAULT_POSTGRES})")
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv", help="the generated file's format (default csv)")
    parser.add_argument("--batch-rows", type=int, default=BATCH_ROWS, help=f"rows per batch (default {BATCH_ROWS})")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(bench(args))))


if __name__ == "__main__":
    main()
