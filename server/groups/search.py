"""Full-text search over the messages a member can see: those of the groups they are in.

PostgreSQL matches ``to_tsvector('simple', body || ' ' || cjk_terms)`` (the
GIN index of migration 0005_groups_cjk_search has the same expression)
against a tsquery built from the query; the embedded SQLite default matches
its FTS5 table of the same text, whose rowid encodes ``(group_id << 32) + seq``.
Both treat the query as plain words that must all appear (no operators), and
both skip recalled messages (their body is empty). The 'simple'
configuration does not stem and splits on spaces and punctuation, so it
behaves the same for every language; Chinese, Japanese and Korean runs are
matched through their character bigrams (server/groups/cjk.py).
"""
from __future__ import annotations

import re

from aiohttp import web
from sqlalchemy import select, text, tuple_

from server.api import endpoint
from server.appkeys import DB
from server.db import Transaction
from server.errors import InvalidInput
from server.groups.cjk import QueryTerms, query_terms
from server.groups.messages import messages_out
from server.groups.models import GroupMessage
from server.groups.schemas import SearchHitOut, SearchOut, SearchQuery
from server.orgs.access import OrgContext

routes = web.RouteTableDef()

_POSTGRES = """
SELECT m.group_id, m.seq FROM group_messages m
JOIN group_members gm ON gm.group_id = m.group_id AND gm.user_id = :user_id
WHERE m.org_id = :org_id AND m.recalled_at IS NULL
  AND to_tsvector('simple', m.body || ' ' || m.cjk_terms) @@ ({tsquery}) {group_filter}
ORDER BY m.created_at DESC, m.seq DESC LIMIT :limit
"""

_SQLITE = """
SELECT m.group_id, m.seq FROM group_messages_fts f
JOIN group_messages m ON m.group_id = (f.rowid >> 32) AND m.seq = (f.rowid & 4294967295)
JOIN group_members gm ON gm.group_id = m.group_id AND gm.user_id = :user_id
WHERE group_messages_fts MATCH :q AND m.org_id = :org_id AND m.recalled_at IS NULL {group_filter}
ORDER BY m.created_at DESC, m.seq DESC LIMIT :limit
"""


def _terms(q: str) -> QueryTerms:
    terms = query_terms(q)
    if not (terms.words or terms.phrases or terms.characters):
        raise InvalidInput("search for at least one word", field="q")
    return terms


def fts5_query(terms: QueryTerms) -> str:
    """Each word and CJK phrase as an FTS5 string (so quotes and operators are just text), single characters as prefixes."""
    quoted = ['"' + t.replace('"', '""') + '"' for t in terms.words + terms.phrases]
    return " ".join(quoted + [f'"{c}"*' for c in terms.characters])


def postgres_tsquery(terms: QueryTerms, params: dict) -> str:
    """A tsquery of bound parameters: all words, each CJK phrase in order, each single character as a prefix."""
    parts = []
    if terms.words:
        params["q_words"] = " ".join(terms.words)
        parts.append("plainto_tsquery('simple', :q_words)")
    for n, phrase in enumerate(terms.phrases):
        params[f"q_phrase{n}"] = phrase
        parts.append(f"phraseto_tsquery('simple', :q_phrase{n})")
    for n, character in enumerate(terms.characters):
        params[f"q_char{n}"] = character + ":*"  # one CJK character: nothing in it to escape
        parts.append(f"to_tsquery('simple', :q_char{n})")
    return " && ".join(parts)


def highlights(body: str, terms: QueryTerms) -> list[tuple[int, int]]:
    """Where the searched words stand in ``body``: sorted, merged [start, end) offsets in code points.

    Words match whole words, ignoring case, as the indexes match them; a CJK
    phrase or character matches wherever it stands."""
    words = [w for word in terms.words for w in re.findall(r"\w+", word)]
    runs = [phrase.split(" ")[0] + "".join(b[1] for b in phrase.split(" ")[1:]) for phrase in terms.phrases] + terms.characters
    patterns = [rf"(?<!\w){re.escape(w)}(?!\w)" for w in words] + [re.escape(r) for r in runs]
    if not patterns:
        return []
    spans = sorted(m.span() for p in patterns for m in re.finditer(p, body, re.IGNORECASE))
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


async def search_messages(tx: Transaction, org: OrgContext, query: SearchQuery) -> list[GroupMessage]:
    params = {"user_id": org.user_id, "org_id": org.org_id, "limit": query.limit}
    terms = _terms(query.q)
    if tx.dialect == "postgresql":
        sql = _POSTGRES.replace("{tsquery}", postgres_tsquery(terms, params))
    else:
        sql, params["q"] = _SQLITE, fts5_query(terms)
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
@endpoint(query=SearchQuery, response=SearchOut, auth="any", external=True)
async def search(request: web.Request, query: SearchQuery, org: OrgContext) -> SearchOut:
    """Messages containing all the words of ``q``, newest first, in the caller's groups (or one of them), with where the words stand."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        found = await messages_out(tx, await search_messages(tx, org, query))
    terms = query_terms(query.q)
    return SearchOut(messages=[SearchHitOut(**m.model_dump(), highlights=highlights(m.body, terms)) for m in found])


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
