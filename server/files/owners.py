"""Kinds of file owners: each says who may read its files and what a completed upload of its kind does.

The platform keeps the bytes and the quota; the part of the code that owns
files (server/groups/, or a capability, registered from its ``setup``) keeps
the rules. A kind nobody registered reads as missing files. The organisation's
admitted outsiders (a school's guardians: server/orgs/access.py) are asked about
only by the kinds declared ``outsiders=True``; every other file is missing to them.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from server.db import Transaction
from server.files.models import StoredFile
from server.orgs.access import OrgContext


async def _nothing_more(tx: Transaction, org: OrgContext, file: StoredFile) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class FileOwner:
    kind: str
    # Whether the caller may download this file (False reads as 404). Runs in a transaction scoped to the file's organisation.
    may_read: Callable[[Transaction, OrgContext, StoredFile], Awaitable[bool]]
    # In the transaction that stores the finished file: e.g. post it in its group. Returns extra response headers.
    on_complete: Callable[[Transaction, OrgContext, StoredFile], Awaitable[dict[str, str]]] = _nothing_more
    # When the caller downloads the file (not its thumbnail), in the transaction that let them: e.g. audit it.
    on_download: Callable[[Transaction, OrgContext, StoredFile], Awaitable[None]] | None = None
    # Whether ``may_read`` also answers outsiders (the role ``external``): a notice's recipients, a photo's submitter.
    outsiders: bool = False


FILE_OWNERS = web.AppKey("file_owners", dict[str, FileOwner])


def register_file_owner(app: web.Application, owner: FileOwner) -> None:
    """From a ``setup(app)`` that runs after server/files/routes.py's."""
    app[FILE_OWNERS][owner.kind] = owner


def file_owner(app: web.Application, kind: str) -> FileOwner | None:
    return app[FILE_OWNERS].get(kind)
