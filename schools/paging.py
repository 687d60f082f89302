"""Keyset pages by id: ``after_id`` is the last id of the previous page, so a page costs the same wherever it is.

Stands in until the platform's keyset list helper (server/db/keyset.py) lands;
then these lists move onto it.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from pydantic import Field

from server.api import ID_MAX, Model

T = TypeVar("T")
PAGE_MAX = 500


class PageQuery(Model):
    after_id: int = Field(0, ge=0, le=ID_MAX, description="next_after_id of the previous page; 0 for the first.")
    limit: int = Field(100, ge=1, le=PAGE_MAX, description="Most items on the page.")


def cut_page(rows: Sequence[T], limit: int, last_id) -> tuple[list[T], int | None]:
    """``rows`` fetched with ``limit + 1``: the page, and the id to pass as ``after_id`` for the next (None at the end)."""
    page = list(rows[:limit])
    return page, (last_id(page[-1]) if len(rows) > limit else None)
