"""The import's format: three tables, each a sheet of one workbook or a CSV file of its own.

* ``units``: ``external_id``, ``kind`` (district, school, grade, class; bureau for the top),
  ``name``, ``parent`` (the parent's external_id; empty: right under the bureau), ``level``
  (grades; a class takes its grade's);
* ``staff``: ``external_id``, ``name``, ``phone``, ``email``, ``title``, ``unit`` (where they work:
  a unit's external_id; empty: the bureau), ``role`` (bureau_staff, district_staff,
  school_admin, teacher), ``head_teacher_of`` and ``subject_teacher_of`` (classes'
  external_ids separated by ``;``), ``subject``;
* ``students``: ``external_id``, ``name``, ``class`` (a class's external_id), and up to
  four guardians: ``guardian1_name``, ``guardian1_phone``, ``guardian1_relation``, ``guardian2_...``.

A table is told by its sheet's name (``units``, ``staff``, ``students``, or
``单位``, ``教职工``, ``学生``) or else by its columns (``kind``, ``role``, ``class``).
Column names are matched as the member import matches them ("External ID" is
``external_id``). Whatever order they come in, units are imported first, then
staff, then students. schools/samples/ has one of each.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from server.errors import InvalidInput
from server.orgs.imports.limits import ImportLimits
from server.orgs.imports.readers import FileRow, check_header, column_key, is_xlsx, open_csv, open_workbook, sheet_table

GUARDIANS = 4
GUARDIAN_FIELDS = ("name", "phone", "relation")
COLUMNS = {
    "units": ("external_id", "kind", "name", "parent", "level"),
    "staff": ("external_id", "name", "phone", "email", "title", "unit", "role", "head_teacher_of", "subject_teacher_of", "subject"),
    "students": ("external_id", "name", "class") + tuple(f"guardian{i}_{f}" for i in range(1, GUARDIANS + 1) for f in GUARDIAN_FIELDS),
}
REQUIRED = {"units": ("external_id", "kind", "name"), "staff": ("external_id", "name", "role"), "students": ("external_id", "name", "class")}
ORDER = ("units", "staff", "students")
SHEET_NAMES = {"units": "units", "单位": "units", "staff": "staff", "教职工": "staff", "students": "students", "学生": "students"}
TELLING_COLUMN = {"kind": "units", "role": "staff", "class": "students"}


@dataclass
class Table:
    kind: str  # units | staff | students
    source: str  # "students" (a sheet) or "students.csv" (a file): how the report names it
    columns: list[str]
    rows: Iterator[FileRow]
    total: int  # rows below the header, as far as the file says


def table_kind(sheet_name: str | None, header: list) -> str:
    """Which table a sheet or file is; InvalidInput if neither its name nor its columns say."""
    if sheet_name is not None and sheet_name.strip().lower() in SHEET_NAMES:
        return SHEET_NAMES[sheet_name.strip().lower()]
    keys = {column_key(h) for h in header if h is not None}
    kinds = {TELLING_COLUMN[k] for k in keys if k in TELLING_COLUMN}
    if len(kinds) != 1:
        raise InvalidInput(
            "cannot tell which table '{source}' is: name its sheet units, staff or students, or give it a kind, role or class column",
            field="file", source=(sheet_name or "")[:60],
        )
    return kinds.pop()


def _checker(kind_holder: list, sheet_name: str | None):
    def check(header: list) -> list[str | None]:
        kind = table_kind(sheet_name, header)
        kind_holder.append(kind)
        return check_header(header, COLUMNS[kind], REQUIRED[kind])
    return check


@contextlib.contextmanager
def open_tables(files: list[tuple[str, Path]], limits: ImportLimits) -> Iterator[list[Table]]:
    """Every table of every file (``(name as sent, path)``), in import order; the whole file is refused if one is unusable."""
    with contextlib.ExitStack() as stack:
        tables: list[Table] = []
        for name, path in files:
            try:
                if is_xlsx(path):
                    workbook = stack.enter_context(open_workbook(path, limits))
                    for sheet in workbook.worksheets:
                        kind: list[str] = []
                        columns, rows, total = stack.enter_context(sheet_table(sheet, limits, _checker(kind, sheet.title), empty_ok=True))
                        if kind:  # a blank sheet (a workbook's "Sheet2") is no table
                            tables.append(Table(kind[0], sheet.title, [c for c in columns if c], rows, total))
                else:
                    kind = []
                    columns, rows, total = stack.enter_context(open_csv(path, limits, _checker(kind, None)))
                    tables.append(Table(kind[0], name, [c for c in columns if c], rows, total))
            except InvalidInput as e:
                raise InvalidInput("in {source}: {reason}", field="file", source=name[:80], reason=e.message) from None
        seen: dict[str, str] = {}
        for table in tables:
            if table.kind in seen:
                raise InvalidInput("both '{first}' and '{second}' are {kind} tables; send each table once", field="file",
                                   first=seen[table.kind], second=table.source, kind=table.kind)
            seen[table.kind] = table.source
        yield sorted(tables, key=lambda t: ORDER.index(t.kind))
