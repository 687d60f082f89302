"""Checking one imported row in Python, before any database work.

A row is all or nothing: the first problem found rejects the whole row, named
by its column, and the other rows go on.
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

from server.errors import InvalidInput
from server.i18n import translate
from server.orgs.departments import MAX_DEPTH, check_department_name
from server.orgs.member_fields import clean_display_name, clean_email, clean_external_id, clean_phone, clean_role, clean_title


@dataclass(frozen=True, slots=True)
class ImportRow:
    number: int
    external_id: str
    name: str
    email: str | None
    phone: str | None
    department: tuple[str, ...] | None  # names from the top of the tree down
    title: str
    role: str


@dataclass(frozen=True, slots=True)
class RowError:
    """A row not imported. ``message`` is a msgid with ``{placeholders}`` from ``params``, so the report reads in its reader's language."""

    row: int | None
    field: str | None
    message: str
    params: dict = dataclasses.field(default_factory=dict)

    def text(self, locale: str = "en") -> str:
        return translate(locale, self.message, **self.params)


@functools.lru_cache(maxsize=4096)  # a file names a few hundred departments, row after row
def parse_department_path(text: str) -> tuple[str, ...] | None:
    """ "Surgery / Ward 3" → ("Surgery", "Ward 3"); empty → no department."""
    if not text.strip():
        return None
    parts = text.split("/")
    if len(parts) > MAX_DEPTH:
        raise InvalidInput("departments nest at most {max_depth} levels deep", field="department", max_depth=MAX_DEPTH)
    try:
        return tuple(check_department_name(part) for part in parts)
    except InvalidInput as e:
        raise InvalidInput("'{text}': {reason} (write parents first, separated by '/')", field="department", text=text[:80], reason=e.message) from None


def check_row(number: int, cells: dict[str, str], *, phone_region: str) -> ImportRow:
    """The row in stored form, or InvalidInput naming the first bad column."""
    external_id = clean_external_id(cells.get("external_id"))
    if external_id is None:
        raise InvalidInput("external_id is required: it is how a later import finds this person again", field="external_id")
    role = clean_role(cells.get("role"))
    if role == "owner":
        raise InvalidInput("owners are appointed one by one in the directory, not by import", field="role")
    return ImportRow(
        number=number,
        external_id=external_id,
        name=clean_display_name(cells.get("name", ""), field="name"),
        email=clean_email(cells.get("email")),
        phone=clean_phone(cells.get("phone"), phone_region),
        department=parse_department_path(cells.get("department", "")),
        title=clean_title(cells.get("title")),
        role=role,
    )
