"""The device WebSocket, ``GET /api/v1/ws`` (protocol: docs/ARCHITECTURE.md).

The token comes in the first frame, never in the URL (URLs end up in proxy
logs). Order of the handshake matters: the socket joins the hub *before* the
stored events are read, so an event committed during the replay is either in
the rows read or arrives live (held until the replay ends); the cursor drops
whichever copy comes second.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any, Literal

from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.abc import AbstractStreamWriter
from pydantic import Field, ValidationError

from server.accounts.auth import authenticate_in
from server.api import Model
from server.appkeys import BUS, DB, HUB, SETTINGS
from server.gateway.frames import (
    CLOSE_INTERNAL,
    CLOSE_PROTOCOL,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHENTICATED,
    PONG,
    close_reason,
    encode_frame,
    error_frame,
)
from server.db import Transaction, utcnow
from server.errors import Unavailable
from server.gateway import presence
from server.gateway.hub import Connection, Hub
from server.gateway.pruning import event_pruning
from server.gateway.stream import stream_state
from server.i18n import _, translate
from server.retention.registry import register_pruning

log = logging.getLogger("muster.gateway")

HELLO_TIMEOUT_S = 10.0
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
CLOSE_HANDSHAKE_TIMEOUT_S = 5.0

routes = web.RouteTableDef()


class DeviceSocket(web.WebSocketResponse):
    """aiohttp closes a socket whose message is over the size limit itself, with 1009 and no reason:
    here the reason says so, in the person's language once the hello told who they are."""

    locale = "en"
    max_kb = 0

    async def close(self, *, code: int = WSCloseCode.OK, message: bytes = b"", drain: bool = True) -> bool:
        if code == WSCloseCode.MESSAGE_TOO_BIG and not message:
            message = close_reason(self.locale, _("a frame may be at most {kb} KB"), kb=self.max_kb)
        return await super().close(code=code, message=message, drain=drain)


class Hello(Model):
    type: Literal["hello"]
    token: str = Field(max_length=200)
    user_seq: int = Field(0, ge=0, lt=2**63, description="The last per-user sequence number this device saw; 0 the first time.")


@routes.get("/api/v1/ws")
async def device_socket(request: web.Request) -> web.WebSocketResponse:
    """One device's real-time connection: hello, replay, ready, then live events and capability frames."""
    settings = request.app[SETTINGS]
    hub = request.app[HUB]
    # No per-message compression: fan-out sends one shared frame to thousands
    # of sockets, and deflating it per socket would cost CPU per recipient.
    # No aiohttp heartbeat (a timer per socket) and no autoping: the hub pings
    # every quiet socket from one task, and the handler sees pongs to know who answered.
    ws = DeviceSocket(
        autoping=False,
        compress=False,
        max_msg_size=settings.ws_max_frame_kb * 1024,  # a bigger message: aiohttp closes with 1009
        timeout=CLOSE_HANDSHAKE_TIMEOUT_S,
    )
    ws.max_kb = settings.ws_max_frame_kb
    writer = await ws.prepare(request)
    try:
        connection = await _registered_connection(request, ws, writer)
    except Unavailable as e:
        await ws.close(code=CLOSE_TRY_AGAIN, message=close_reason(ws.locale, e.msgid))
        return ws
    if connection is None:
        return ws
    principal = connection.principal
    session_end = _close_when_the_session_ends(connection)
    try:
        try:
            await connection.cursor.catch_up()
        except Exception:
            log.exception("user %s: could not replay the event stream", principal.user_id)
            await ws.close(code=CLOSE_INTERNAL, message=close_reason(connection.locale, _("could not read the event stream; reconnect")))
            return ws
        connection.send(
            encode_frame(
                {"type": "ready", "user_seq": connection.cursor.last_seq, "user_id": principal.user_id, "session_id": principal.session_id}
            )
        )
        await hub.connected(connection)
        await _serve_client_frames(ws, hub, connection)
    finally:
        if session_end is not None:
            session_end.cancel()
        try:
            await connection.finish()
        finally:
            await hub.unregister(connection)
    return ws


def _close_when_the_session_ends(connection: Connection) -> asyncio.TimerHandle | None:
    """A guest session ends at a fixed time (server/accounts/guests.py): its socket closes then too (4001)."""
    ends_at = connection.principal.ends_at
    if ends_at is None:
        return None
    delay = max((ends_at - utcnow()).total_seconds(), 0.0)
    return asyncio.get_running_loop().call_later(delay, connection.close, CLOSE_UNAUTHENTICATED, _("this guest session has ended"))


async def _registered_connection(request: web.Request, ws: DeviceSocket, writer: AbstractStreamWriter) -> Connection | None:
    """The hello, checked, and the socket registered with the hub; None once the socket was closed for a bad hello.
    A function of its own so that the hello and its token are not kept alive for as long as the socket is open.

    One transaction: the session; for a device that resumes, where its stream is; and, once the socket is
    registered (so an event committed after the read reaches it live), the first page of its stored events,
    one range of the primary key (server/gateway/stream.py)."""
    settings, hub = request.app[SETTINGS], request.app[HUB]
    hello = await _receive_hello(ws)
    if hello is None:
        return None
    connection = None
    try:
        async with request.app[DB].transaction() as tx:
            principal = await authenticate_in(tx, hello.token, session_days=settings.session_days, session_max_days=settings.session_max_days)
            if principal is not None:
                ws.locale = principal.locale or "en"
                connection = Connection(
                    ws,
                    request,
                    writer,
                    principal,
                    db=request.app[DB],
                    hold_limit=settings.ws_send_queue,
                    buffer_limit=settings.ws_send_buffer_kb * 1024,
                    stall_s=settings.ws_heartbeat_s * 1.5,
                    **await _resume_point(tx, principal.user_id, hello.user_seq),
                )
                hub.register(connection)
                await connection.cursor.read_first_page(tx)
    except BaseException:
        if connection is not None:
            await hub.unregister(connection)
        raise
    if connection is None:
        await ws.close(code=CLOSE_UNAUTHENTICATED, message=b"this session has expired or was signed out; sign in again")
    return connection


async def _receive_hello(ws: web.WebSocketResponse) -> Hello | None:
    try:
        msg = await ws.receive(timeout=HELLO_TIMEOUT_S)
    except TimeoutError:
        await ws.close(code=CLOSE_PROTOCOL, message=b"send hello within 10 seconds")
        return None
    if msg.type != WSMsgType.TEXT:
        await ws.close(code=CLOSE_PROTOCOL, message=b"the first frame must be a hello text frame")
        return None
    try:
        return Hello.model_validate_json(msg.data)
    except ValidationError:
        await ws.close(code=CLOSE_PROTOCOL, message=b'the first frame must be {"type":"hello","token":...,"user_seq":N}')
        return None


async def _resume_point(tx: Transaction, user_id: int, user_seq: int) -> dict:
    """Where to replay from (``after_seq``), and whether the device must resync first (``resync``, the reason).

    The device's number, unless it is ahead of the stream (a restored database): then ``ready`` tells the device
    the real position, lower than what it sent. Below the stream's watermark (events it has not seen were pruned:
    server/gateway/pruning.py) it is told to ``resync`` and goes on from the stream's position. A device's first
    hello (0) reads nothing here: it has seen nothing, so it misses nothing.
    """
    if user_seq == 0:
        return {"after_seq": 0}
    state = await stream_state(tx, user_id)
    if user_seq < state.pruned_through:
        return {"after_seq": state.last_seq, "resync": "pruned"}
    return {"after_seq": min(user_seq, state.last_seq)}


async def _serve_client_frames(ws: web.WebSocketResponse, hub: Hub, connection: Connection) -> None:
    """Each client frame is paid for (``Hub.admit``) before anything else is done with it."""
    connection.serving = True
    while (msg := await connection.receive()) is not None:
        connection.heard = True
        if msg.type != WSMsgType.TEXT:
            if not hub.admit(connection):
                continue
            if msg.type == WSMsgType.PING:
                await ws.pong(msg.data)
            elif msg.type == WSMsgType.BINARY:
                connection.send(error_frame("invalid", translate(connection.locale, "frames are JSON text, not binary")))
            continue
        message = _client_frame(msg.data, connection.locale)
        if isinstance(message, bytes):
            if hub.admit(connection):
                connection.send(message)
            continue
        if not hub.admit(connection, message["type"], message.get("ref")):
            continue
        if message["type"] == "ping":
            connection.send(PONG)
        elif message["type"] == "hello":
            connection.send(error_frame("invalid", translate(connection.locale, "already said hello"), message.get("ref")))
        else:
            await hub.dispatch(connection, message)


def _client_frame(text: str, locale: str) -> dict[str, Any] | bytes:
    """A text frame's JSON object with a string ``type``, or the error frame that answers it (in ``locale``).

    Refused besides bad JSON: ``NaN`` and ``Infinity`` (not JSON: a browser could
    not read them echoed back), numbers too long to convert and nesting too deep
    to parse, and unpaired UTF-16 surrogates: escaped in JSON they decode, but
    cannot be encoded again, and one in a chat line would break the frame for
    every recipient. Surrogates are looked for only in a frame that has such an escape.
    """
    try:
        message = json.loads(text, parse_constant=_not_json)
    except json.JSONDecodeError as e:
        return error_frame("malformed_json", translate(locale, "the frame is not valid JSON (at character {position})", position=e.pos + 1))
    except _NotJson as e:
        return error_frame("malformed_json", translate(locale, "the frame is not valid JSON: {constant} is not a JSON number", constant=e.constant))
    except ValueError:  # an integer of over 4,300 digits
        return error_frame("malformed_json", translate(locale, "the frame is not valid JSON: a number has too many digits"))
    except RecursionError:
        return error_frame("malformed_json", translate(locale, "the frame is not valid JSON: it is nested too deeply"))
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return error_frame("invalid", translate(locale, 'a frame is a JSON object with a string "type"'))
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(message, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            return error_frame("invalid", translate(locale, "the frame has an unpaired UTF-16 surrogate (a \\ud800-\\udfff escape without its pair)"))
    return message


class _NotJson(ValueError):
    def __init__(self, constant: str):
        super().__init__(constant)
        self.constant = constant


def _not_json(constant: str) -> None:
    raise _NotJson(constant)


async def _close_sockets(app: web.Application) -> None:
    app[HUB].close_all()


async def _detach_hub(app: web.Application) -> None:
    app[HUB].detach()


def setup(app: web.Application) -> None:
    # Subscribed before the bus starts, so the node is listening by the time it reports ready.
    app[HUB] = Hub(app[DB], app[SETTINGS])
    app[HUB].attach(app[BUS])
    presence.setup(app)
    register_pruning(app, event_pruning(app[SETTINGS]))
    app.on_shutdown.append(_close_sockets)
    app.on_cleanup.append(_detach_hub)
    app.router.add_routes(routes)
