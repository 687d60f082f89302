"""Reading a table row by row, CSV or XLSX, without holding it in memory: the member import's file, and any
other import's (schools/ reads several sheets of one workbook with the same readers).

Both readers yield ``FileRow``s: ``number`` is what a spreadsheet shows (the
header is row 1), ``cells`` maps column names to the cell text, and ``problem``
says why a row could not even be split into cells. Column names are matched without regard to case, spaces or
underscores ("External ID" is ``external_id``); an unknown or missing column
refuses the whole file before anything is written, and so does a file past
the import's limits (server/orgs/imports/limits.py).
"""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from server.errors import InvalidInput
from server.i18n import _
from server.orgs.imports.limits import ImportLimits, check_csv_lines, check_unpacked_size, scan_sheet

COLUMNS = ("external_id", "name", "email", "phone", "department", "title", "role")
REQUIRED = ("external_id", "name")
XLSX_MAGIC = b"PK\x03\x04"
CSV_DELIMITERS = (",", ";", "\t")



class FileRow(NamedTuple):
    number: int
    cells: dict[str, str]
    problem: str | None = None


class RowShapeError(Exception):
    """A row whose cells do not line up with the header (a stray delimiter, usually)."""


def column_key(header: str) -> str:
    return "_".join(str(header).strip().lower().replace("-", " ").replace("_", " ").split())


def check_header(headers: list, known: tuple[str, ...] = COLUMNS, required: tuple[str, ...] = REQUIRED) -> list[str | None]:
    """Known column names in file order (None for trailing blank headers); InvalidInput for anything else."""
    columns: list[str | None] = []
    for header in headers:
        key = column_key(header) if header is not None else ""
        if not key:
            columns.append(None)
            continue
        if key not in known:
            raise InvalidInput("unknown column '{header}'; the columns are: {columns}", field="file", header=str(header)[:60], columns=', '.join(known))
        if key in columns:
            raise InvalidInput("column '{key}' appears twice", field="file", key=key)
        columns.append(key)
    missing = [c for c in required if c not in columns]
    if missing:
        raise InvalidInput("the file has no {missing} column (the first row must name the columns)", field="file", missing=' or '.join(missing))
    return columns


def _cells(columns: list[str | None], values: list) -> dict[str, str]:
    cells: dict[str, str] = {}
    for i, value in enumerate(values):
        text = cell_text(value)
        if i >= len(columns) or columns[i] is None:
            if text:
                raise RowShapeError(f"a value '{text[:40]}' sits outside the named columns (a stray comma or semicolon?)")
            continue
        cells[columns[i]] = text
    return cells


def cell_text(value) -> str:
    """Cell text as the person typed it; Excel stores 13900000001 or 1001 as numbers."""
    if type(value) is str:  # every CSV cell, most XLSX ones
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


HeaderCheck = Callable[[list], list[str | None]]


def is_xlsx(path: Path) -> bool:
    """Told apart by the first bytes, not the name: uploads are saved without their ending."""
    with open(path, "rb") as raw:
        return raw.read(4) == XLSX_MAGIC


@contextlib.contextmanager
def open_member_file(path: Path, limits: ImportLimits) -> Iterator[tuple[list[str], Iterator[FileRow]]]:
    """Open a CSV or XLSX file (told apart by its first bytes) within ``limits``; yields its columns and its rows."""
    if is_xlsx(path):
        with open_workbook(path, limits) as workbook, sheet_table(workbook.worksheets[0], limits, check_header) as (columns, rows, _):
            yield [c for c in columns if c], rows
    else:
        with open_csv(path, limits, check_header) as (columns, rows, _):
            yield [c for c in columns if c], rows


@contextlib.contextmanager
def open_csv(path: Path, limits: ImportLimits, check: HeaderCheck) -> Iterator[tuple[list[str | None], Iterator[FileRow], int]]:
    """A CSV file's columns (as ``check`` names them), its rows, and how many lines it has below the header."""
    with open(path, "rb") as raw:
        lines = check_csv_lines(raw, limits)
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        try:
            first_line = text.readline()
            text.seek(0)
        except UnicodeDecodeError:
            raise InvalidInput("the file is neither XLSX nor UTF-8 text; save it as 'CSV UTF-8' or as an Excel workbook", field="file") from None
        delimiter = max(CSV_DELIMITERS, key=first_line.count)
        reader = csv.reader(text, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            raise InvalidInput("the file is empty", field="file")
        columns = check(header)
        yield columns, _csv_rows(reader, columns), max(lines - 1, 0)


def _csv_rows(reader, columns):
    row_number = 1
    while True:
        row_number += 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            # Everything after this point is unreadable; earlier rows are already in.
            yield FileRow(row_number, {}, _("the file stops being UTF-8 text here; save it as 'CSV UTF-8'"))
            return
        except csv.Error as e:
            yield FileRow(row_number, {}, f"unreadable CSV: {e}")
            return
        if not any(v.strip() for v in values):
            continue
        try:
            yield FileRow(row_number, _cells(columns, values))
        except RowShapeError as e:
            yield FileRow(row_number, {}, str(e))


def _unreadable() -> tuple[type[Exception], ...]:
    """What a broken workbook raises; openpyxl is imported only when a workbook is read."""
    from openpyxl.utils.exceptions import InvalidFileException

    return zipfile.BadZipFile, zlib.error, InvalidFileException, KeyError, OSError, ValueError, EOFError


@contextlib.contextmanager
def open_workbook(path: Path, limits: ImportLimits):
    """An XLSX workbook opened read-only (its sheets stream their XML), once its unpacked size is within ``limits``."""
    import openpyxl

    # A file object, not the path: uploads are saved without the .xlsx ending openpyxl would insist on.
    with open(path, "rb") as raw:
        try:
            with zipfile.ZipFile(raw) as archive:
                check_unpacked_size(archive, limits)  # before openpyxl unpacks the shared strings
            raw.seek(0)
            # read_only streams the sheet's XML instead of building every cell object.
            workbook = openpyxl.load_workbook(raw, read_only=True, data_only=True)
        except _unreadable() as e:
            raise InvalidInput("the file looks like XLSX but cannot be read: {error}", field="file", error=str(e)) from None
        try:
            yield workbook
        finally:
            workbook.close()


@contextlib.contextmanager
def sheet_table(
    sheet, limits: ImportLimits, check: HeaderCheck, *, empty_ok: bool = False,
) -> Iterator[tuple[list[str | None], Iterator[FileRow], int]]:
    """One sheet's columns (as ``check`` names them), its rows, and how many rows it has below the header;
    an empty sheet is refused, or with ``empty_ok`` has no columns and no rows."""
    try:
        with sheet._get_source() as source:  # the sheet's XML, as openpyxl itself opens it
            extent = scan_sheet(source, limits)
    except _unreadable() as e:
        raise InvalidInput("the file looks like XLSX but cannot be read: {error}", field="file", error=str(e)) from None
    if not (extent.rows and extent.columns):
        if empty_ok:
            yield [], iter(()), 0
            return
        raise InvalidInput("the first sheet is empty", field="file")
    sheet.reset_dimensions()  # never pad rows to what the file declares: only to what it holds
    rows = sheet.iter_rows(max_row=extent.rows, max_col=extent.columns, values_only=True)
    header = next(rows, None)
    if header is None:
        raise InvalidInput("the first sheet is empty", field="file")
    columns = check(list(header))
    yield columns, _xlsx_rows(rows, columns), extent.rows - 1


def _xlsx_rows(rows, columns):
    for row_number, values in enumerate(rows, start=2):
        if all(cell_text(v) == "" for v in values):
            continue
        try:
            yield FileRow(row_number, _cells(columns, list(values)))
        except RowShapeError as e:
            yield FileRow(row_number, {}, str(e))
