"""The router: aiohttp's, with one regular expression per crowded path prefix.

aiohttp indexes routes by their path up to the first variable, so every
``/api/v1/orgs/{org_id}/...`` route (130 of them) sits under one key, and a
request walks them in turn, one coroutine and one regular expression each: a
form submission, the 75th, spent ~0.5 ms being routed. Here a prefix with many
routes also gets one expression joining theirs in order; a single match finds
the first route whose path fits, and the walk starts there. Which route
answers, its match and the 405s are what aiohttp gives (the walk from there is
aiohttp's own).
"""
from __future__ import annotations

import re
import warnings

from aiohttp import web
from aiohttp.web_urldispatcher import DynamicResource, MatchInfoError, PlainResource

CROWDED = 8  # a prefix with more routes than this is matched by one expression
_NAMED_GROUP = re.compile(r"\(\?P<[^>]+>")


def _pattern(resource) -> str | None:
    if isinstance(resource, DynamicResource):
        return _NAMED_GROUP.sub("(?:", resource.get_info()["pattern"].pattern)
    if isinstance(resource, PlainResource):
        return re.escape(resource.get_info()["path"])
    return None


def _join(candidates: list) -> tuple[re.Pattern, dict[int, int]] | None:
    """One expression for crowded ``candidates``, and which candidate each of its outer groups is: the outer group
    closes last, so it is the match's ``lastindex`` whatever groups a route's own expression holds."""
    patterns = [_pattern(r) for r in candidates]
    if len(candidates) <= CROWDED or None in patterns:
        return None
    by_group, group = {}, 1
    for index, pattern in enumerate(patterns):
        by_group[group] = index
        group += 1 + re.compile(pattern).groups
    return re.compile("|".join(f"({p})" for p in patterns)), by_group


class IndexedDispatcher(web.UrlDispatcher):
    def __init__(self) -> None:
        super().__init__()
        self._joined: dict[str, tuple[re.Pattern, dict[int, int]] | None] = {}

    def index_resource(self, resource) -> None:
        super().index_resource(resource)
        self._joined.clear()

    def unindex_resource(self, resource) -> None:
        super().unindex_resource(resource)
        self._joined.clear()

    def _first_fit(self, key: str, candidates: list, path: str) -> int:
        """The index of the first of ``candidates`` whose path could fit (``len`` if none)."""
        if key not in self._joined:
            self._joined[key] = _join(candidates)
        if (joined := self._joined[key]) is None:
            return 0
        expression, by_group = joined
        found = expression.fullmatch(path)
        return len(candidates) if found is None else by_group[found.lastindex]

    async def resolve(self, request: web.Request):
        allowed: set[str] = set()
        if self._matched_sub_app_resources:  # domain sub-apps: none here; aiohttp's own walk if ever
            return await super().resolve(request)
        path = part = request.rel_url.path_safe
        while part:
            candidates = self._resource_index.get(part, ())
            for candidate in candidates[self._first_fit(part, candidates, path) if candidates else 0:]:
                match, methods = await candidate.resolve(request)
                if match is not None:
                    return match
                allowed |= methods
            if part == "/":
                break
            part = part.rpartition("/")[0] or "/"
        if allowed:
            return MatchInfoError(web.HTTPMethodNotAllowed(request.method, allowed))
        return MatchInfoError(web.HTTPNotFound())


def make_application(**kwargs) -> web.Application:
    """A ``web.Application`` with the indexed router (aiohttp deprecates passing one, and offers no other way)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return web.Application(router=IndexedDispatcher(), **kwargs)
