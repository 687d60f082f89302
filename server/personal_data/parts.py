"""What a part of the product contributes to an export or an erasure of one person in one organisation."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from server.config import Settings
from server.db import Transaction


@dataclass(frozen=True)
class PersonalDataPart:
    """``export`` returns JSON-able data; ``erase`` removes or anonymises it and returns counts of what went.

    Both run in a transaction scoped to the organisation, before the person's
    membership is removed; an erasure is one transaction, all parts or none.
    """

    name: str
    export: Callable[[Transaction, int], Awaitable[dict | list]]
    erase: Callable[[Transaction, Settings, int], Awaitable[dict[str, int]]]


def iso(value) -> str | None:
    """A time in an export (None stays None)."""
    return value.isoformat() if value is not None else None


PERSONAL_DATA = web.AppKey("personal_data_parts", dict[str, PersonalDataPart])


def register_personal_data(app: web.Application, part: PersonalDataPart) -> None:
    parts = app[PERSONAL_DATA]
    assert part.name not in parts, f"personal data part {part.name!r} registered twice"
    parts[part.name] = part
