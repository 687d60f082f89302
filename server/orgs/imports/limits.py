"""What one import may declare and cost, checked before the file is parsed: rows, columns, unpacked bytes.

An XLSX is a zip of XML that says how large it is, and a reader that
believes it does work for every cell it declares: a 1.5 KB file whose sheet
declares ``A1:XFD1048576`` (or a last row numbered 1,048,576, or a cell in
column XFD) made openpyxl pad 17 billion empty cells, and a few kilobytes of
zip can unpack to gigabytes of shared strings. So before openpyxl reads
anything, the zip's declared unpacked sizes are added up (Python's zip reader
never unpacks past them), and the first sheet's XML is scanned by expat,
without building a tree, for its true last row and column, stopping at the
first row or column past the limit. The reader is then told those true
extents, never the declared ones. A CSV is text the server reads as it
comes; only its lines are counted first (one pass in C).

Every refusal is a 413 that names the limit and the setting that raises it.
"""
from __future__ import annotations

import xml.parsers.expat
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from server.config import Settings
from server.errors import InvalidInput, TooLarge
from server.i18n import _

_SCAN_CHUNK = 1 << 20


@dataclass(frozen=True)
class ImportLimits:
    max_rows: int = 200_000  # below the header
    max_columns: int = 64
    max_unpacked_bytes: int = 128 << 20  # an XLSX's XML, all parts together (100,000 rows: ~36 MB)

    @classmethod
    def of(cls, settings: Settings) -> "ImportLimits":
        return cls(settings.import_max_rows, settings.import_max_columns, settings.import_max_unpacked_bytes)


def _too_large(message: str, limit: int, **params) -> TooLarge:
    """``message`` says what is too large and ends with the limit and the setting that raises it."""
    return TooLarge(message, field="file", code="import_too_large", limit=limit, **params)


def check_csv_lines(raw: BinaryIO, limits: ImportLimits) -> int:
    """Count the CSV's lines (quoted line breaks count too) and refuse a file past the row limit; rewinds."""
    lines = 0
    while chunk := raw.read(_SCAN_CHUNK):
        lines += chunk.count(b"\n")
        if lines > limits.max_rows + 1:
            raise _too_large(_("the file has more than {lines:,} lines; an import takes at most {limit:,} (MUSTER_IMPORT_MAX_ROWS)"),
                             limits.max_rows, lines=limits.max_rows + 1)
    raw.seek(0)
    return lines


def check_unpacked_size(archive: zipfile.ZipFile, limits: ImportLimits) -> None:
    unpacked = sum(member.file_size for member in archive.infolist())
    if unpacked > limits.max_unpacked_bytes:
        raise _too_large(_("the workbook unpacks to {unpacked:,} bytes; an import takes at most {limit:,} (MUSTER_IMPORT_MAX_UNPACKED_BYTES)"),
                         limits.max_unpacked_bytes, unpacked=unpacked)


@dataclass
class SheetExtent:
    rows: int = 0  # the last row number that appears
    columns: int = 0  # the last column number that has a cell


class _SheetScan:
    """expat handlers that follow row and cell numbers as openpyxl does (``r`` if given, else the next one).

    Called for every element of the sheet, so it does as little as it can:
    100,000 rows of six columns scan in ~3 s, against ~45 s to read and check
    them (on the shared 2-core test machine).
    """

    def __init__(self, limits: ImportLimits):
        self.limits = limits
        self.extent = SheetExtent()
        self._row = 0
        self._column = 0
        self._cells = 0
        self._columns_by_letters: dict[str, int] = {}

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == "c" or name.endswith(":c"):
            self._cell(attrs.get("r"))
        elif name == "row" or name.endswith(":row"):
            ref = attrs.get("r")
            self._row = int(ref) if ref and ref.isdigit() else self._row + 1
            if self._row > self.limits.max_rows + 1:
                raise _too_large(_("the sheet has a row numbered {row:,}; an import takes at most {limit:,} (MUSTER_IMPORT_MAX_ROWS)"),
                                 self.limits.max_rows, row=self._row)
            if self._row > self.extent.rows:
                self.extent.rows = self._row
            self._column = self._cells = 0

    def _cell(self, ref: str | None) -> None:
        self._cells += 1
        if ref:
            letters = ref.rstrip("0123456789")
            column = self._columns_by_letters.get(letters)
            if column is None:
                column = self._columns_by_letters[letters] = _column_number(ref, letters)
            self._column = column
        else:
            self._column += 1
        if self._column > self.limits.max_columns or self._cells > self.limits.max_columns:
            where = ref or f"row {self._row}"
            raise _too_large(_("the sheet has a cell at {where}, past column {limit}; an import takes at most {limit:,} (MUSTER_IMPORT_MAX_COLUMNS)"),
                             self.limits.max_columns, where=where[:20])
        if self._column > self.extent.columns:
            self.extent.columns = self._column


def _column_number(ref: str, letters: str) -> int:
    """"AB" → 28; four letters or more are past any sheet's last column (XFD), and read as that."""
    if not (letters.isascii() and letters.isalpha()):
        raise InvalidInput("the sheet has a cell reference '{ref}' that is not one", field="file", ref=ref[:20])
    column = 0
    for letter in letters.upper()[:4]:
        column = column * 26 + (ord(letter) - 64)
    return column


def _no_doctype(*_args) -> None:
    raise InvalidInput("the sheet's XML declares a DTD, which a workbook never needs", field="file")


def scan_sheet(source: BinaryIO, limits: ImportLimits) -> SheetExtent:
    """The sheet's true extent, read from its XML; 413 at the first row or column past the limits."""
    scan = _SheetScan(limits)
    parser = xml.parsers.expat.ParserCreate()
    parser.StartElementHandler = scan.start
    parser.StartDoctypeDeclHandler = _no_doctype
    try:
        while chunk := source.read(_SCAN_CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except xml.parsers.expat.ExpatError as e:
        raise InvalidInput("the sheet's XML cannot be read: {error}", field="file", error=str(e)) from None
    return scan.extent
