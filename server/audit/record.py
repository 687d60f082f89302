"""Writing an entry: ``do_audit(tx, actor, "member.removed", target=("member", 12), details={...})``.

Actions are named ``<thing>.<what happened>`` (``member.role_changed``,
``broadcast.sent``), written as literals: the admin page shows each as a
sentence from its catalogue (``admin.audit.action.<code>``), and a test finds
the codes in the code to check that every one has its text. ``details`` says what changed, never secrets or message
bodies; an erased person's name is not repeated in the entries about erasing
them.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from server.audit.context import current_request
from server.audit.models import AuditEntry
from server.db import Transaction


class Actor(Protocol):
    user_id: int
    name: str


class Someone:
    """An actor known only by id and name (a login, before any principal exists)."""

    def __init__(self, user_id: int, name: str):
        self.user_id = user_id
        self.name = name


async def do_audit(
    tx: Transaction,
    actor: Actor | None,
    action: str,
    *,
    target: tuple[str, int] | None = None,
    details: dict | None = None,
    org_id: int | None = None,
) -> None:
    """Record one action in the transaction's organisation (or ``org_id`` from an unscoped transaction)."""
    await do_audit_orgs(tx, actor, action, [org_id or tx.org_id], target=target, details=details)


async def do_audit_orgs(
    tx: Transaction,
    actor: Actor | None,
    action: str,
    org_ids: Iterable[int | None],
    *,
    target: tuple[str, int] | None = None,
    details: dict | None = None,
) -> None:
    """The same entry in each of several organisations (a sign-in is seen by every organisation of the person)."""
    request = current_request.get()
    for org_id in org_ids:
        if org_id is None:
            raise ValueError(f"audit entry {action!r} needs an organisation")
        tx.session.add(
            AuditEntry(
                org_id=org_id,
                actor_user_id=actor.user_id if actor else None,
                actor_name=(actor.name if actor else "")[:200],
                action=action,
                target_kind=target[0] if target else None,
                target_id=target[1] if target else None,
                remote=request.remote if request else None,
                request_id=request.request_id if request else None,
                details=details or {},
            )
        )
    await tx.session.flush()
