"""/api/openapi.json, generated from the same pydantic models that validate the requests."""
from __future__ import annotations

import re

from aiohttp import web
from pydantic import BaseModel, TypeAdapter

from server.api import EndpointSpec

_REF = "#/components/schemas/{model}"


def build_openapi(app: web.Application) -> dict:
    paths: dict[str, dict] = {}
    schemas: dict[str, dict] = {}

    def ref(model) -> dict:
        schema = TypeAdapter(model).json_schema(ref_template=_REF)
        schemas.update(schema.pop("$defs", {}))
        if isinstance(model, type) and issubclass(model, BaseModel):
            schemas[model.__name__] = schema
            return {"$ref": _REF.format(model=model.__name__)}
        return schema

    for route in app.router.routes():
        spec: EndpointSpec | None = getattr(route.handler, "__muster_endpoint__", None)
        if spec is None or route.resource is None:
            continue
        path = route.resource.canonical
        op: dict = {"summary": spec.summary.splitlines()[0] if spec.summary else route.handler.__name__}
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "integer" if name.endswith("_id") else "string"}}
            for name in re.findall(r"{(\w+)}", path)
        ]
        if spec.query is not None:
            for name, field in spec.query.model_fields.items():
                params.append({"name": name, "in": "query", "required": field.is_required(), "schema": TypeAdapter(field.annotation).json_schema()})
        if params:
            op["parameters"] = params
        if spec.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(spec.body)}}}
        ok: dict = {"description": "OK"}
        if spec.response is not None and spec.status != 204:
            ok["content"] = {"application/json": {"schema": ref(spec.response)}}
        op["responses"] = {str(spec.status): ok, "4XX": {"description": "Error", "content": {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}}}}
        if spec.auth != "none":
            op["security"] = [{"bearer": []}]
        paths.setdefault(path, {})[route.method.lower()] = op

    schemas["Error"] = {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": ["string", "null"]}},
                "required": ["code", "message"],
            }
        },
    }
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


