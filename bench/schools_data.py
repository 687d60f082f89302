"""A city's school hierarchy for the schools import: generate it, and optionally time its import into PostgreSQL.

    python bench/schools_data.py --out /tmp/city                 # write units, staff, students (CSV) for the full city
    python bench/schools_data.py --scale 0.1 --format xlsx --out /tmp/city   # a tenth, as one workbook
    python bench/schools_data.py --scale 0.1 --import             # write a tenth to a temporary folder and time its import

The full city (the issue's benchmark): one bureau, 13 districts, 1,300 schools,
480,000 people with an account (staff and guardians). Each school has grades 1
to 6 of two classes, a school admin, a head teacher per class and five subject
teachers; each district three staff, the bureau five. Every child has two
guardians with phones, except that one child in twenty is the sibling of the
one before (the same two guardians) and one in forty of those is in another
school: so guardians are shared across classes and schools as they are in a
city. ``--scale`` multiplies the schools and the people.

The files are the format of schools/imports/tables.py (schools/samples/ has a
small one): ``units``, ``staff``, ``students``, as three CSV files or three
sheets of one workbook written as Excel writes it (shared strings).

With ``--import``: a fresh PostgreSQL database (dropped at the end), the
files imported through ``schools.imports.run.do_import_hierarchy`` (the
function behind the API's job and ``muster schools import``), then the same
files again (nothing to create: idempotence). Progress goes to stderr; the last
line of stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import importlib
import json
import os
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

FULL_SCHOOLS, FULL_DISTRICTS, FULL_PEOPLE = 1300, 13, 480_000
GRADES, CLASSES_PER_GRADE = 6, 2
SUBJECT_TEACHERS, DISTRICT_STAFF, BUREAU_STAFF = 5, 3, 5
SUBJECTS = ("Maths", "Chinese", "English", "Science", "Music", "Art", "PE")
FAMILY = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo")
GIVEN = ("Wei", "Fang", "Min", "Jing", "Lei", "Yan", "Jie", "Tao", "Ming", "Hua", "Ying", "Bo", "Hong", "Xin", "Yu", "Lin")


class City:
    """The shape of the city for a scale: how many schools, staff, children."""

    def __init__(self, scale: float, people: int = FULL_PEOPLE):
        self.schools = max(1, round(FULL_SCHOOLS * scale))
        self.districts = max(1, min(FULL_DISTRICTS, self.schools))
        self.classes = self.schools * GRADES * CLASSES_PER_GRADE
        self.staff = self.schools * (1 + GRADES * CLASSES_PER_GRADE + SUBJECT_TEACHERS) + self.districts * DISTRICT_STAFF + BUREAU_STAFF
        guardians = max(0, round(people * scale) - self.staff)
        # two guardians a child, but one child in twenty shares the two of the child before
        self.students = round(guardians / (2 * 19 / 20))

    @property
    def units(self) -> int:
        return 1 + self.districts + self.schools * (1 + GRADES + GRADES * CLASSES_PER_GRADE)

    def school_district(self, school: int) -> int:
        return school % self.districts

    def class_id(self, school: int, grade: int, number: int) -> str:
        return f"S{school:05d}-G{grade}C{number}"


def name(i: int) -> str:
    return f"{FAMILY[i % len(FAMILY)]} {GIVEN[(i // len(FAMILY)) % len(GIVEN)]}{i}"


def unit_rows(city: City) -> Iterator[list]:
    yield ["external_id", "kind", "name", "parent", "level"]
    yield ["BUREAU", "bureau", "City Education Bureau", "", ""]
    for d in range(city.districts):
        yield [f"D{d:02d}", "district", f"District {d + 1}", "", ""]
    for s in range(city.schools):
        yield [f"S{s:05d}", "school", f"Primary School No. {s + 1}", f"D{city.school_district(s):02d}", ""]
        for g in range(1, GRADES + 1):
            yield [f"S{s:05d}-G{g}", "grade", f"Grade {g}", f"S{s:05d}", g]
            for c in range(1, CLASSES_PER_GRADE + 1):
                yield [city.class_id(s, g, c), "class", f"Class {c}", f"S{s:05d}-G{g}", ""]


def staff_rows(city: City) -> Iterator[list]:
    yield ["external_id", "name", "phone", "email", "title", "unit", "role", "head_teacher_of", "subject_teacher_of", "subject"]
    n = 0

    def person(unit: str, role: str, title: str, head: str = "", teaches: str = "", subject: str = "") -> list:
        nonlocal n
        n += 1
        return [f"T{n:07d}", name(n), f"138{n:08d}", f"t{n}@schools.example", title, unit, role, head, teaches, subject]

    for _ in range(BUREAU_STAFF):
        yield person("BUREAU", "bureau_staff", "Officer")
    for d in range(city.districts):
        for _ in range(DISTRICT_STAFF):
            yield person(f"D{d:02d}", "district_staff", "Inspector")
    classes = [(g, c) for g in range(1, GRADES + 1) for c in range(1, CLASSES_PER_GRADE + 1)]
    for s in range(city.schools):
        yield person(f"S{s:05d}", "school_admin", "Principal")
        for g, c in classes:
            yield person(f"S{s:05d}", "teacher", "Head teacher", head=city.class_id(s, g, c))
        for t in range(SUBJECT_TEACHERS):
            taught = ";".join(city.class_id(s, g, c) for g, c in classes[t::SUBJECT_TEACHERS])
            yield person(f"S{s:05d}", "teacher", "Teacher", teaches=taught, subject=SUBJECTS[t % len(SUBJECTS)])


def student_rows(city: City) -> Iterator[list]:
    yield ["external_id", "name", "class", "guardian1_name", "guardian1_phone", "guardian1_relation",
           "guardian2_name", "guardian2_phone", "guardian2_relation"]
    classes = city.classes
    guardian = 0
    parents: tuple[list, list] = ([], [])
    for i in range(city.students):
        k = i % classes
        s, rest = divmod(k, GRADES * CLASSES_PER_GRADE)
        if i % 40 == 39:  # a sibling in another school
            s = (s + 1) % city.schools
        g, c = divmod(rest, CLASSES_PER_GRADE)
        if i % 20 != 19 or i == 0:  # one child in twenty shares the guardians of the child before
            parents = ([f"{name(guardian)}", f"139{guardian:08d}", "mother"], [f"{name(guardian + 1)}", f"139{guardian + 1:08d}", "father"])
            guardian += 2
        yield [f"P{i:08d}", name(i + 7), city.class_id(s, g + 1, c + 1), *parents[0], *parents[1]]


TABLES = {"units": unit_rows, "staff": staff_rows, "students": student_rows}
XLSX_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
XLSX_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


def _column(i: int) -> str:
    return chr(65 + i) if i < 26 else chr(64 + i // 26) + chr(65 + i % 26)


def write_workbook(path: Path, city: City) -> None:
    """Three sheets, every text cell an index into one shared strings table, numbers as numbers: as Excel saves them."""
    strings: dict[str, int] = {}
    names = list(TABLES)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{SHEET_TYPE}"/>' for i in range(1, len(names) + 1))
        package.writestr("[Content_Types].xml",
                         '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                         '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                         '<Default Extension="xml" ContentType="application/xml"/>'
                         '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                         f'{overrides}<Override PartName="/xl/sharedStrings.xml" '
                         'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
        package.writestr("_rels/.rels", f'<Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rId1" Type="{XLSX_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        sheets = "".join(f'<sheet name="{n}" sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(names, 1))
        package.writestr("xl/workbook.xml", f'<workbook xmlns="{XLSX_MAIN}" xmlns:r="{XLSX_RELS}"><sheets>{sheets}</sheets></workbook>')
        rels = "".join(f'<Relationship Id="rId{i}" Type="{XLSX_RELS}/worksheet" Target="worksheets/sheet{i}.xml"/>' for i in range(1, len(names) + 1))
        package.writestr("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{PACKAGE_RELS}">{rels}'
                         f'<Relationship Id="rId{len(names) + 1}" Type="{XLSX_RELS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
        for i, table in enumerate(names, 1):
            with package.open(f"xl/worksheets/sheet{i}.xml", "w") as sheet:
                sheet.write(f'<worksheet xmlns="{XLSX_MAIN}"><sheetData>'.encode())
                for number, row in enumerate(TABLES[table](city), start=1):
                    cells = []
                    for column, value in enumerate(row):
                        ref = f"{_column(column)}{number}"
                        if isinstance(value, int) or (isinstance(value, str) and value.isdigit() and len(value) == 11):
                            cells.append(f'<c r="{ref}"><v>{value}</v></c>')  # phones and levels typed as numbers, as Excel keeps them
                        elif value != "":
                            cells.append(f'<c r="{ref}" t="s"><v>{strings.setdefault(value, len(strings))}</v></c>')
                    sheet.write(f'<row r="{number}">{"".join(cells)}</row>'.encode())
                sheet.write(b"</sheetData></worksheet>")
        with package.open("xl/sharedStrings.xml", "w") as table:
            table.write(f'<sst xmlns="{XLSX_MAIN}" uniqueCount="{len(strings)}">'.encode())
            for text in strings:
                table.write(f"<si><t>{xml_escape(text)}</t></si>".encode())
            table.write(b"</sst>")


def write_files(out: Path, city: City, fmt: str) -> list[tuple[str, Path]]:
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        path = out / "city.xlsx"
        write_workbook(path, city)
        return [(path.name, path)]
    files = []
    for table, rows in TABLES.items():
        path = out / f"{table}.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows(city))
        files.append((path.name, path))
    return files


async def timed_import(db, database: str, org_id: int, files, label: str, member_bench) -> dict:
    from server.orgs.imports.limits import ImportLimits
    from schools.imports.run import do_import_hierarchy

    started = time.perf_counter()

    def progress(report) -> None:
        elapsed = time.perf_counter() - started
        print(f"\r{label}: {report.rows_done:,}/{report.rows_total:,} rows  {report.rows_done / elapsed:,.0f} rows/s  "
              f"rss {member_bench.mb(sampler.now())} MB", end="", file=sys.stderr, flush=True)

    postgres_before, python_before = member_bench.postgres_cpu_s(database), time.process_time()
    with member_bench.RssSampler() as sampler:
        report = await do_import_hierarchy(db, org_id, files, region="CN", limits=ImportLimits(4_000_000, 64, 4 << 30), on_progress=progress)
    seconds = time.perf_counter() - started
    postgres_after = member_bench.postgres_cpu_s(database)
    print(file=sys.stderr)
    return {
        "seconds": round(seconds, 1), "rows": report.rows_done, "rows_per_s": round(report.rows_done / seconds),
        "counts": {k: v for k, v in report.counts.items() if v}, "failed": report.failed,
        "first_errors": [f"{e.source} row {e.row}: {e.text()}" for e in report.errors[:3]],
        "cpu_s": {"python": round(time.process_time() - python_before, 1),
                  "postgres": None if postgres_after is None else round(postgres_after - postgres_before, 1)},
        "peak_rss_mb": member_bench.mb(sampler.peak),
    }


async def bench(args: argparse.Namespace, city: City, files) -> dict:
    member_bench = importlib.import_module("import")  # bench/import.py: its database, CPU and memory helpers

    async with member_bench.organisation_in_fresh_database(args.postgres_url, name="City Education Bureau", slug="city") as (db, name, org_id):
        first = await timed_import(db, name, org_id, files, "first import", member_bench)
        second = await timed_import(db, name, org_id, files, "second import", member_bench) if not args.once else None
    people = city.staff + first["counts"].get("guardians_created", 0)
    return {
        "bench": "schools_import", "database": "postgresql", "format": args.format, "scale": args.scale,
        "schools": city.schools, "units": city.units, "staff": city.staff, "students": city.students, "people": people,
        "import_s": first["seconds"], "people_per_s": round(people / first["seconds"]), "rows": first["rows"], "rows_per_s": first["rows_per_s"],
        "full_city_estimate_s": round(first["seconds"] / args.scale, 1),
        "failed": first["failed"], "first_errors": first["first_errors"], "cpu_s": first["cpu_s"], "peak_rss_mb": first["peak_rss_mb"],
        "counts": first["counts"], "cpus": os.cpu_count(), "load_avg_at_end": [round(load, 1) for load in os.getloadavg()],
        "second_import": second and {k: second[k] for k in ("seconds", "counts", "failed", "cpu_s", "peak_rss_mb")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--scale", type=float, default=1.0, help="a share of the full city (default 1: 1,300 schools, 480,000 people)")
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv", help="three CSV files or one workbook (default csv)")
    parser.add_argument("--out", type=Path, help="where to write the files (default: a temporary folder, removed after --import)")
    parser.add_argument("--import", dest="run_import", action="store_true", help="time the files' import into a fresh PostgreSQL database")
    parser.add_argument("--once", action="store_true", help="with --import: skip the second import of the same files")
    parser.add_argument("--postgres-url", default=os.environ.get("MUSTER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"),
                        help="an admin URL of the PostgreSQL server; a fresh database is created beside it and dropped")
    args = parser.parse_args()
    city = City(args.scale)
    out = args.out or Path(tempfile.mkdtemp(prefix="muster-schools-"))
    started = time.perf_counter()
    files = write_files(out, city, args.format)
    size = sum(path.stat().st_size for _, path in files)
    print(f"wrote {city.units:,} units, {city.staff:,} staff, {city.students:,} children ({size / 2**20:.1f} MB) to {out} "
          f"in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if not args.run_import:
        print(json.dumps({"bench": "schools_data", "out": str(out), "schools": city.schools, "units": city.units, "staff": city.staff,
                          "students": city.students, "bytes": size}))
        return
    try:
        print(json.dumps(asyncio.run(bench(args, city, files))))
    finally:
        if args.out is None:
            for _, path in files:
                path.unlink(missing_ok=True)
            out.rmdir()


if __name__ == "__main__":
    main()
