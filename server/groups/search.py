"""Full-text search over the messages a member can see: those of the groups they are in.

PostgreSQL matches ``to_tsvector('simple', body)`` (the GIN index of the
migration 0002_groups has the same expression) against ``plainto_tsquery``;
the embedded SQLite default matches its FTS5 table, whose rowid encodes
``(group_id << 32) + seq``. Both treat the query as plain words that must all
appear (no operators), and both skip recalled messages (their body is empty).
The 'simple' configuration does not stem and splits on spaces and
punctuation, so it behaves the same for every language, but it does not
segment Chinese text without spaces.
"""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select, text, tuple_

from server.api import endpoint
from server.appkeys import DB
from server.db import Transaction
from server.errors import InvalidInput
from server.groups.messages import messages_out
from server.groups.models import GroupMessage
from server.groups.schemas import SearchOut, SearchQuery
from server.orgs.access import OrgContext

routes = web.RouteTableDef()

_POSTGRES = """
SELECT m.group_id, m.seq FROM group_messages m
JOIN group_members gm ON gm.group_id = m.group_id AND gm.user_id = :user_id
WHERE m.org_id = :org_id AND m.recalled_at IS NULL
  AND to_tsvector('simple', m.body) @@ plainto_tsquery('simple', :q) {group_filter}
ORDER BY m.created_at DESC, m.seq DESC LIMIT :limit
"""

_SQLITE = """
SELECT m.group_id, m.seq FROM group_messages_fts f
JOIN group_messages m ON m.group_id = (f.rowid >> 32) AND m.seq = (f.rowid & 4294967295)
JOIN group_members gm ON gm.group_id = m.group_id AND gm.user_id = :user_id
WHERE group_messages_fts MATCH :q AND m.org_id = :org_id AND m.recalled_at IS NULL {group_filter}
ORDER BY m.created_at DESC, m.seq DESC LIMIT :limit
"""


def fts5_words(q: str) -> str:
    """Each word as an FTS5 string, so quotes and operators in the query are just text."""
    words = q.split()
    if not words:
        raise InvalidInput("search for at least one word", field="q")
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


async def search_messages(tx: Transaction, org: OrgContext, query: SearchQuery) -> list[GroupMessage]:
    params = {"user_id": org.user_id, "org_id": org.org_id, "limit": query.limit}
    if tx.dialect == "postgresql":
        sql, params["q"] = _POSTGRES, query.q
    else:
        sql, params["q"] = _SQLITE, fts5_words(query.q)
    group_filter = ""
    if query.group_id is not None:
        group_filter, params["group_id"] = "AND m.group_id = :group_id", query.group_id
    if org.principal.guest is not None:  # a guest searches the one group they were invited to
        group_filter, params["group_id"] = "AND m.group_id = :group_id", org.principal.guest.id
    keys = [tuple(r) for r in await tx.session.execute(text(sql.format(group_filter=group_filter)), params)]
    if not keys:
        return []
    found = {(m.group_id, m.seq): m for m in await tx.session.scalars(select(GroupMessage).where(tuple_(GroupMessage.group_id, GroupMessage.seq).in_(keys)))}
    return [found[k] for k in keys if k in found]


@routes.get("/api/v1/orgs/{org_id}/group-messages/search")
@endpoint(query=SearchQuery, response=SearchOut, auth="any")
async def search(request: web.Request, query: SearchQuery, org: OrgContext) -> SearchOut:
    """Messages containing all the words of ``q``, newest first, in the caller's groups (or one of them)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        return SearchOut(messages=await messages_out(tx, await search_messages(tx, org, query)))


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
