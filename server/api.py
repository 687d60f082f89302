"""Typed endpoints: request bodies declared as pydantic models, validated before the handler runs.

    @routes.post("/api/v1/orgs/{org_id}/departments")
    @endpoint(body=DepartmentIn, response=DepartmentOut, status=201, role="admin")
    async def create_department(request, body: DepartmentIn, org: OrgContext) -> DepartmentOut: ...

The decorator authenticates (``auth``), resolves the organisation of an
``{org_id}`` route for the caller (404 if they are not in it: see
server/orgs/access.py; an outsider it admits, such as an external contact, is in it
only for routes declared ``external=True``), checks ``role``, parses the body and the query string,
and turns the returned model into JSON. The same metadata builds
/api/openapi.json (server/openapi.py).
"""
from __future__ import annotations

import functools
import inspect
import json
from dataclasses import dataclass
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from server.appkeys import PRINCIPAL
from server.errors import Forbidden, InvalidInput, Unauthenticated
from server.i18n.validation import validation_error

ROLES = ("member", "admin", "owner")

ID_MAX = 2**63 - 1  # the largest key a database's 64-bit integer column holds
Id = Annotated[int, Field(gt=0, le=ID_MAX)]
"""An id in a request: one the database cannot hold is refused as bad input (a 400), never sent to it (a 500)."""


class Model(BaseModel):
    """Base of every request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Out(BaseModel):
    """Base of every response body."""

    model_config = ConfigDict(from_attributes=True)


@dataclass(frozen=True)
class EndpointSpec:
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any
    status: int
    auth: str  # "user" (people only), "any" (people and guests), "none"
    role: str | None
    summary: str
    external: bool = False  # open to the organisation's admitted outsiders too (server/orgs/access.py): the route decides what they see
    one_transaction: bool = False  # authenticated, resolved and handled in one transaction, given to the handler as ``tx``


def endpoint(
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    auth: str = "user",
    role: str | None = None,
    summary: str = "",
    external: bool = False,
    one_transaction: bool = False,
):
    """``one_transaction``: for a hot route of an organisation (a form submission), the bearer token, the caller's place in the
    organisation and the handler's work share one transaction (the handler takes ``tx``), instead of one each: a third of
    the round trips and connection checkouts of such a request. Such requests take one of the database's ``hot_slots``
    first, so they never hold more than half of the pool."""
    assert auth in ("user", "any", "none") and (role is None or role in ROLES)
    assert not external or (auth != "none" and role is None), "outsiders reach only routes of people that need no organisation role"

    def decorate(handler):
        spec = EndpointSpec(body, query, response, status, auth, role, summary or (handler.__doc__ or "").strip(), external, one_transaction)
        wants = inspect.signature(handler).parameters
        if one_transaction:
            assert auth != "none" and "org" in wants and "tx" in wants, "one transaction is for an organisation's routes of signed-in callers"
            return _in_one_transaction(handler, spec)

        @functools.wraps(handler)
        async def wrapper(request: web.Request) -> web.StreamResponse:
            principal = request.get(PRINCIPAL)
            if auth != "none":
                if principal is None:
                    raise Unauthenticated("sign in first: send 'Authorization: Bearer <token>'")
                if auth == "user" and principal.is_guest:
                    raise Forbidden("guests cannot use this")
            kwargs: dict[str, Any] = {}
            if "org" in wants:
                from server.orgs.access import resolve_org

                kwargs["org"] = await resolve_org(request, principal, role, external=external)
            if body is not None:
                kwargs["body"] = await parse_body(request, body)
            if query is not None:
                kwargs["query"] = parse_model(query, dict(request.query))
            result = await handler(request, **kwargs)
            return to_response(result, status)

        wrapper.__muster_endpoint__ = spec
        return wrapper

    return decorate


def _in_one_transaction(handler, spec: EndpointSpec):
    """The wrapper of a ``one_transaction`` endpoint: what ``endpoint`` does, in the order it does it, inside one transaction
    (the auth middleware leaves these routes to it)."""
    from server.accounts.auth import authenticate_in, bearer_token
    from server.appkeys import DB, SETTINGS
    from server.orgs.access import resolve_org_in

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        token = bearer_token(request)
        if token is None:
            raise Unauthenticated("sign in first: send 'Authorization: Bearer <token>'")
        org_id = path_int(request, "org_id")
        settings, db = request.app[SETTINGS], request.app[DB]
        async with db.hot_slots, db.transaction(org_id=org_id) as tx:
            principal = await authenticate_in(tx, token, session_days=settings.session_days, session_max_days=settings.session_max_days)
            if principal is None:
                raise Unauthenticated("this session has expired or was signed out; sign in again", code="session_invalid")
            request[PRINCIPAL] = principal
            if spec.auth == "user" and principal.is_guest:
                raise Forbidden("guests cannot use this")
            kwargs: dict[str, Any] = {"tx": tx, "org": await resolve_org_in(tx, org_id, principal, spec.role, external=spec.external)}
            if spec.body is not None:
                kwargs["body"] = await parse_body(request, spec.body)
            if spec.query is not None:
                kwargs["query"] = parse_model(spec.query, dict(request.query))
            result = await handler(request, **kwargs)
        return to_response(result, spec.status)

    wrapper.__muster_endpoint__ = spec
    wrapper.__muster_authenticates_in_transaction__ = True
    return wrapper


async def parse_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    if request.content_type != "application/json":
        raise InvalidInput("send the body as JSON with 'Content-Type: application/json'", code="unsupported_media_type")
    raw = await request.read()
    try:
        data = json.loads(raw or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidInput("body is not valid JSON: {error}", code="malformed_json", error=str(e)) from None
    return parse_model(model, data)


def parse_model(model: type[BaseModel], data: Any) -> BaseModel:
    _check_no_nul(data)
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise validation_error(e.errors()[0]) from None


def _check_no_nul(data: Any) -> None:
    """Refuse text with a NUL character: PostgreSQL cannot store it and SQLite's full-text search cuts it short."""
    if isinstance(data, str):
        if "\x00" in data:
            raise InvalidInput("text cannot contain the NUL character (\\u0000)")
    elif isinstance(data, dict):
        for key, value in data.items():
            _check_no_nul(key)
            _check_no_nul(value)
    elif isinstance(data, list):
        for value in data:
            _check_no_nul(value)


def to_response(result: Any, status: int) -> web.StreamResponse:
    if isinstance(result, web.StreamResponse):
        return result
    if result is None:
        return web.Response(status=204)
    if isinstance(result, BaseModel):
        return web.json_response(text=result.model_dump_json(), status=status)
    if isinstance(result, list) and all(isinstance(r, BaseModel) for r in result):
        return web.json_response(text="[" + ",".join(r.model_dump_json() for r in result) + "]", status=status)
    return web.json_response(result, status=status)


def path_int(request: web.Request, name: str) -> int:
    """An integer path parameter; anything else reads as a missing resource."""
    from server.errors import NotFound

    try:
        value = int(request.match_info[name])
    except ValueError:
        raise NotFound("no such {name}", name=name.removesuffix('_id')) from None
    if not 0 < value <= ID_MAX:
        raise NotFound("no such {name}", name=name.removesuffix('_id'))
    return value
