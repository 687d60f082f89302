"""Access taken away: one hook through which every part that gave a person something ends it.

When people lose access to an organisation (removed from it, or the guest
invite they came by is revoked) or to one thing in it (removed from a group,
or they left it), ``do_revoke_access`` runs inside the transaction that took
the access away:

* every handler registered with ``register_revocation`` runs in that same
  transaction, so what it ends (group memberships, pending escalations) ends
  atomically with the access, whichever node or bus is up;
* after commit, one message on the bus channel ``access-revoked`` reaches
  every node, whose listeners (``on_access_revoked``) end what lives only in
  that node's memory or disk: meeting seats and their media, uploads in
  progress.

The platform never imports a capability: capabilities register here, as
they register guest scopes (server/accounts/guests.py).
"""
from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiohttp import web

from server.appkeys import BUS
from server.db import Transaction

log = logging.getLogger("muster.revocation")

ACCESS_REVOKED_CHANNEL = "access-revoked"


@dataclass(frozen=True)
class AccessRevoked:
    """``user_ids`` lost the organisation ``org_id`` (``scope`` None), or only the thing ``scope`` = (kind, id) in it."""

    org_id: int
    user_ids: tuple[int, ...]
    scope: tuple[str, int] | None = None

    def encode(self) -> bytes:
        return json.dumps({"org_id": self.org_id, "user_ids": list(self.user_ids), "scope": self.scope}).encode()

    @classmethod
    def decode(cls, payload: bytes) -> "AccessRevoked":
        data = json.loads(payload)
        scope = data["scope"]
        return cls(data["org_id"], tuple(data["user_ids"]), (scope[0], scope[1]) if scope else None)


RevocationHandler = Callable[[Transaction, AccessRevoked], Awaitable[None]]
RevocationListener = Callable[[AccessRevoked], Awaitable[None] | None]

_first_handlers: list[RevocationHandler] = []
_handlers: list[RevocationHandler] = []


def register_revocation(handler: RevocationHandler, *, first: bool = False) -> None:
    """Run ``handler(tx, revoked)`` in every transaction that takes access away; at import, once per process.

    ``first``: before the handlers registered without it, for a handover that must see what the others end
    (server/contacts/handover.py finds the chats a leaver owned before server/groups takes them out).
    """
    handlers = _first_handlers if first else _handlers
    if handler not in handlers:
        handlers.append(handler)


async def do_revoke_access(tx: Transaction, org_id: int, user_ids: Sequence[int], scope: tuple[str, int] | None = None) -> None:
    """End everything ``user_ids`` had through what they lost: in this transaction, then on every node after commit."""
    if not user_ids:
        return
    revoked = AccessRevoked(org_id, tuple(sorted(set(user_ids))), scope)
    for handler in (*_first_handlers, *_handlers):
        await handler(tx, revoked)
    tx.publish(ACCESS_REVOKED_CHANNEL, revoked.encode())


def on_access_revoked(app: web.Application, listener: RevocationListener) -> None:
    """Call ``listener(revoked)`` on this node for every revocation committed on any node (from a ``setup(app)``)."""
    tasks: set[asyncio.Task] = set()

    def receive(payload: bytes) -> None:
        revoked = AccessRevoked.decode(payload)
        try:
            result = listener(revoked)
        except Exception:
            log.exception("access-revoked listener %r failed", listener)
            return
        if inspect.isawaitable(result):  # bus handlers must not block: the work goes on in its own task
            task = asyncio.ensure_future(result)
            tasks.add(task)
            task.add_done_callback(_finished(tasks, listener))

    unsubscribe = app[BUS].subscribe(ACCESS_REVOKED_CHANNEL, receive)

    async def _stop(_app: web.Application) -> None:
        unsubscribe()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    app.on_cleanup.append(_stop)


def _finished(tasks: set[asyncio.Task], listener: RevocationListener) -> Callable[[asyncio.Task], None]:
    def done(task: asyncio.Task) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("access-revoked listener %r failed", listener, exc_info=task.exception())

    return done
