"""The request being served, as the audit log needs it: the client's address and the request id.

Set once per request by the request-log middleware; a WebSocket's frames are
handled inside its upgrade request, so they carry it too. Work that runs
outside any request (workers, the CLI) records no address.
"""
from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    remote: str | None
    request_id: str | None


current_request: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("muster_request", default=None)
