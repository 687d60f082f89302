"""Notices to a person about their own account: "your account signed in on a new device".

``do_notify_account`` stores the notice (the home page lists the unread ones
with ``GET /api/v1/me/notices``) and, in the same transaction, puts an
``account.<kind>`` event on the person's stream, so every device of theirs
that is connected hears of it at once. Parts that can reach a person who is
not connected (Web Push, SMS) hook in with ``register_notice_listener``: the
platform never imports them.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select, update

from server.accounts.models import AccountNotice
from server.db import Transaction, utcnow
from server.gateway.events import emit

NEW_DEVICE = "new_device"
LIST_LIMIT = 50

NoticeListener = Callable[[Transaction, AccountNotice], Awaitable[None]]
_listeners: list[NoticeListener] = []


def register_notice_listener(listener: NoticeListener) -> None:
    """Call ``listener(tx, notice)`` in the transaction of every new account notice (e.g. to queue a Web Push); at import, once."""
    if listener not in _listeners:
        _listeners.append(listener)


def event_type(kind: str) -> str:
    return f"account.{kind}"


async def do_notify_account(tx: Transaction, user_id: int, kind: str, data: dict) -> AccountNotice:
    notice = AccountNotice(user_id=user_id, kind=kind, data=data, created_at=utcnow())
    tx.session.add(notice)
    await tx.session.flush()
    await emit(tx, [user_id], event_type(kind), {"notice_id": notice.id, **data, "at": notice.created_at.isoformat()})
    for listener in _listeners:
        await listener(tx, notice)
    return notice


async def list_unread_notices(tx: Transaction, user_id: int) -> list[AccountNotice]:
    """The person's unread notices, newest first (at most ``LIST_LIMIT``)."""
    rows = await tx.session.scalars(
        select(AccountNotice)
        .where(AccountNotice.user_id == user_id, AccountNotice.read_at.is_(None))
        .order_by(AccountNotice.id.desc())
        .limit(LIST_LIMIT)
    )
    return list(rows)


async def do_mark_notices_read(tx: Transaction, user_id: int, up_to_id: int) -> int:
    """Mark the person's notices up to ``up_to_id`` read (one newer than what the page showed stays unread); returns how many."""
    result = await tx.session.execute(
        update(AccountNotice)
        .where(AccountNotice.user_id == user_id, AccountNotice.id <= up_to_id, AccountNotice.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
