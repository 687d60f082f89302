"""Rows that go with a deleted account, in tables that keep no foreign key to ``users``.

A table written in bulk or on a hot path may leave that foreign key out:
PostgreSQL checks one per row inserted (an index lookup and a ``FOR KEY
SHARE`` lock of the user's row), which for a notice's 480,000 recipient rows
was most of the send (notify/broadcasts.py). Its capability registers the
column instead, and deleting an account (server/personal_data/actions.py)
deletes those rows, or clears the column where the rows stay, in every
organisation and in the same transaction, as ``ON DELETE CASCADE`` or ``SET
NULL`` did.
"""
from __future__ import annotations

from sqlalchemy import Column, delete, update

from server.db import Transaction

_DELETED: list[Column] = []
_CLEARED: list[Column] = []


def register_account_rows(column: Column, *, keep_rows: bool = False) -> None:
    """The rows whose ``column`` holds a user id are deleted with that user's account; with ``keep_rows`` they stay and the
    column becomes NULL. Once per process, at import; the column needs an index of its own."""
    registry = _CLEARED if keep_rows else _DELETED
    if column not in registry:
        registry.append(column)


async def do_delete_account_rows(tx: Transaction, user_id: int) -> None:
    """In the transaction that deleted the account: a statement per registered column."""
    for column in _DELETED:
        await tx.session.execute(delete(column.table).where(column == user_id).execution_options(synchronize_session=False))
    for column in _CLEARED:
        await tx.session.execute(update(column.table).where(column == user_id).values({column.name: None}).execution_options(synchronize_session=False))
