"""/api/openapi.json, generated from the same pydantic models that validate the requests.

Every model is described once, in one pass (``models_json_schema``), so two
models that share a class name (the organisation's ``MemberOut`` and a
group's) each keep their own schema; request bodies are described as they are
validated, responses as they are serialised.
"""
from __future__ import annotations

import re
import typing

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from server.api import ID_MAX, EndpointSpec

_REF = "#/components/schemas/{model}"

# Path parameters read by ``path_int`` are integers (anything else is a 404); these are not.
_STRING_PATH_PARAMS = {
    "upload_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},  # a tus upload (server/files/tus.py)
    "link_token": {"type": "string"},
}
_INTEGER = {"type": "integer", "minimum": 1, "maximum": ID_MAX}
_ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": ["string", "null"]}},
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}


def _operations(app: web.Application) -> list[tuple[web.AbstractRoute, EndpointSpec]]:
    return [
        (route, spec)
        for route in app.router.routes()
        if (spec := getattr(route.handler, "__muster_endpoint__", None)) is not None and route.resource is not None
    ]


def _listed(response: typing.Any) -> type[BaseModel] | None:
    """``X`` of a ``list[X]`` response."""
    if typing.get_origin(response) is list:
        (item,) = typing.get_args(response)
        return item
    return None


def build_openapi(app: web.Application) -> dict:
    operations = _operations(app)
    wanted: set[tuple[type[BaseModel], str]] = set()
    for _, spec in operations:
        if spec.body is not None:
            wanted.add((spec.body, "validation"))
        if spec.response is not None:
            wanted.add((_listed(spec.response) or spec.response, "serialization"))
    refs, definitions = models_json_schema(sorted(wanted, key=lambda m: (m[0].__module__, m[0].__qualname__, m[1])), ref_template=_REF)
    schemas = definitions.get("$defs", {}) | {"Error": _ERROR}

    paths: dict[str, dict] = {}
    for route, spec in operations:
        path = route.resource.canonical
        op: dict = {"summary": spec.summary.splitlines()[0] if spec.summary else route.handler.__name__}
        params = [
            {"name": name, "in": "path", "required": True, "schema": _STRING_PATH_PARAMS.get(name, _INTEGER)}
            for name in re.findall(r"{(\w+)}", path)
        ]
        if spec.query is not None:
            query = spec.query.model_json_schema(ref_template=_REF)
            schemas.update(query.pop("$defs", {}))
            for name, field in spec.query.model_fields.items():
                params.append({"name": name, "in": "query", "required": field.is_required(), "schema": query["properties"][name]})
        if params:
            op["parameters"] = params
        if spec.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": refs[(spec.body, "validation")]}}}
        ok: dict = {"description": "OK"}
        if spec.response is not None and spec.status != 204:
            item = _listed(spec.response)
            schema = {"type": "array", "items": refs[(item, "serialization")]} if item else refs[(spec.response, "serialization")]
            ok["content"] = {"application/json": {"schema": schema}}
        op["responses"] = {str(spec.status): ok, "4XX": {"description": "Error", "content": {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}}}}
        if spec.auth != "none":
            op["security"] = [{"bearer": []}]
        paths.setdefault(path, {})[route.method.lower()] = op

    return {
        "openapi": "3.1.0",
        "info": {"title": "Muster API", "version": "1"},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(build_openapi(request.app))


def setup(app: web.Application) -> None:
    app.router.add_get("/api/openapi.json", openapi_json)
