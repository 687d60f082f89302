"""A table sent as a file: CSV streamed as its pages come, XLSX written in constant memory; no cell is ever a formula.

Used by the exports of forms' submissions (server/forms/export.py) and of a
livestream's attendance (rooms/live/attendance.py). The rows come as an async
iterator of pages (lists of typed values), read however the caller likes (a
page a transaction for big tables).

* CSV: the response starts at once (headers and a UTF-8 byte order mark, so
  spreadsheet programs read Chinese right), then each page as it comes, one
  write a page.
* XLSX: XlsxWriter in ``constant_memory`` mode (each row goes to disk when the
  next starts), written in a thread, then sent in 1 MB reads; cells are typed
  (numbers, yes/no as booleans, times, text as strings), so nothing is ever a formula.

Formula injection: a CSV cell that starts with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return, and is not simply a number or a phone number, gets
a leading apostrophe, which spreadsheet programs show as text; in XLSX text
is written as a string cell, which is never evaluated.
"""
from __future__ import annotations

import asyncio
import codecs
import csv
import datetime as dt
import io
import os
import re
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import xlsxwriter
from aiohttp import web

Pages = AsyncIterator[list[list[Any]]]
SEND_CHUNK = 1 << 20  # an XLSX file's reads as it is sent
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
PHONE = re.compile(r"\+?[0-9][0-9 ()-]{5,30}")


def neutralised(text: str) -> str:
    """Text a spreadsheet program will not take for a formula, numbers and phone numbers left as they are."""
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text) and not PHONE.fullmatch(text):
        return "'" + text
    return text


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ";".join(map(str, value))
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


def csv_cell(value: Any) -> str | int | float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return neutralised(cell_text(value))


def _same(value):
    return value


# A CSV cell by its value's type, looked up once a cell (csv_cell for any other type).
CSV_CELL = {str: neutralised, int: _same, float: _same, type(None): lambda _: "", bool: lambda v: "yes" if v else "no",
            dt.datetime: lambda v: v.isoformat(sep=" ", timespec="seconds")}


def csv_lines(page: list[list[Any]]) -> list[list[str | int | float]]:
    cell = CSV_CELL.get
    return [[cell(type(v), csv_cell)(v) for v in row] for row in page]


async def stream_csv(request: web.Request, header: Sequence[str], pages: Pages, filename: str) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/csv; charset=utf-8",
                                           "Content-Disposition": f'attachment; filename="{filename}.csv"', "Cache-Control": "no-store"})
    await response.prepare(request)
    if request.method == "HEAD":  # headers only: aiohttp would send what is written after them on the connection as it is
        await response.write_eof()
        return response
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralised(name) for name in header])
    await response.write(codecs.BOM_UTF8 + buffer.getvalue().encode())
    async for page in pages:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(csv_lines(page))
        await response.write(buffer.getvalue().encode())
    await response.write_eof()
    return response


def _cell_writers(sheet, when_format) -> dict[type, Callable[[int, int, Any], Any]]:
    """The sheet's typed writer for a value of each type (other types: as text); nothing is ever a formula."""
    return {str: sheet.write_string, int: sheet.write_number, float: sheet.write_number, bool: sheet.write_boolean,
            dt.datetime: lambda r, c, v: sheet.write_datetime(r, c, v, when_format)}


def _write_rows(writers: dict, as_text: Callable, start: int, page: list[list[Any]]) -> None:
    writer = writers.get
    for r, row in enumerate(page, start):
        for c, value in enumerate(row):
            if value is not None:
                writer(type(value), as_text)(r, c, value)


async def send_xlsx(request: web.Request, header: Sequence[str], pages: Pages, folder: Path, filename: str, sheet: str) -> web.StreamResponse:
    """Write the XLSX to a temporary file in ``folder``, send it, and delete it (sent or not)."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=folder, suffix=".xlsx", delete=False)
    handle.close()
    try:
        await write_xlsx(handle.name, header, pages, sheet)
        response = web.StreamResponse(headers={"Content-Type": XLSX_TYPE,
                                               "Content-Disposition": f'attachment; filename="{filename}.xlsx"', "Cache-Control": "no-store"})
        response.content_length = os.path.getsize(handle.name)
        await response.prepare(request)
        with open(handle.name, "rb") as f:
            while request.method != "HEAD" and (chunk := f.read(SEND_CHUNK)):
                await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        os.unlink(handle.name)


async def write_xlsx(path: str, header: Sequence[str], pages: Pages, sheet_name: str) -> int:
    """The workbook, row by row in constant memory; returns the number of rows. Datetimes must be naive (local time)."""
    book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False})
    sheet = book.add_worksheet(sheet_name)
    writers = _cell_writers(sheet, book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}))

    def as_text(r: int, c: int, value: Any) -> None:
        sheet.write_string(r, c, cell_text(value))

    for c, name in enumerate(header):
        sheet.write_string(0, c, name)
    count = 0
    async for page in pages:
        await asyncio.to_thread(_write_rows, writers, as_text, count + 1, page)
        count += len(page)
    await asyncio.to_thread(book.close)
    return count
