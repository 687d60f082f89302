"""The frames of the device WebSocket, and how they are encoded.

A frame is one JSON object in one WebSocket text message. ``encode_frame``
returns its UTF-8 bytes; ``text_message`` wraps them in the WebSocket frame
header. Server-to-client frames are unmasked and never compressed (the socket
is opened with ``compress=False``), so the whole message is the same bytes for
every socket: a fan-out builds it once and writes that one bytes object to
each transport (``Hub.send_to_users``).
"""
from __future__ import annotations

import json
import struct
from typing import Any

from server.i18n import translate

# Close codes the server uses (4000-4999 are for applications, RFC 6455 §7.4.2).
CLOSE_PROTOCOL = 4000  # the first frame was not a valid hello, or none came in time
CLOSE_UNAUTHENTICATED = 4001  # unknown, expired or revoked session: sign in again
CLOSE_SLOW_READER = 4008  # the send buffer filled up: reconnect and resume from user_seq
CLOSE_FLOODING = 4029  # kept sending frames after they were refused as rate_limited (budgets.py)
CLOSE_GOING_AWAY = 1001  # this node is shutting down: reconnect (to any node)
CLOSE_INTERNAL = 1011  # the node could not read the event stream: reconnect and resume
CLOSE_TRY_AGAIN = 1013  # the database cannot be reached for now (RFC 6455 registry: "Try Again Later"): reconnect in a few seconds
# aiohttp closes a socket whose client sent a message over MUSTER_WS_MAX_FRAME_KB with 1009 (message too big).

MAX_CLOSE_REASON = 123  # bytes: a close frame's payload is at most 125, two of them the code (RFC 6455 §5.5)

Frame = str | bytes


def close_reason(locale: str, msgid: str, **params) -> bytes:
    """A close frame's reason in the person's language; English if the translation would not fit."""
    reason = translate(locale, msgid, **params).encode()
    return reason if len(reason) <= MAX_CLOSE_REASON else msgid.format(**params).encode()[:MAX_CLOSE_REASON]


_FIN_TEXT = 0x81  # FIN + opcode 1 (text), RSV bits clear: not compressed


def text_message(frame: Frame) -> bytes:
    """One whole unmasked WebSocket text message (RFC 6455 §5.2): header, then the frame's UTF-8 bytes."""
    payload = frame.encode() if isinstance(frame, str) else frame
    length = len(payload)
    if length < 126:
        return bytes((_FIN_TEXT, length)) + payload
    if length < 65536:
        return struct.pack("!BBH", _FIN_TEXT, 126, length) + payload
    return struct.pack("!BBQ", _FIN_TEXT, 127, length) + payload


def encode_frame(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def event_frame_tail(event_type: str, data: Any, at: str) -> bytes:
    """Everything of an event frame after its ``seq``, encoded once for all of the event's recipients."""
    return (',"event":%s,"data":%s,"at":%s}' % (json.dumps(event_type), encode_data(data), json.dumps(at))).encode()


def event_frame(seq: int, tail: bytes) -> bytes:
    """``{"type":"event","seq":N,"event":...,"data":...,"at":...}``: per recipient only the number is formatted."""
    return b'{"type":"event","seq":%d' % seq + tail


def encode_data(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def error_frame(code: str, message: str, ref: Any = None) -> bytes:
    """An error about one client frame; the socket stays open. ``ref`` echoes the client's ``ref`` field."""
    frame: dict[str, Any] = {"type": "error", "error": {"code": code, "message": message}}
    if ref is not None:
        frame["ref"] = ref
    return encode_frame(frame)


def resync_frame(reason: str, user_seq: int) -> bytes:
    """Events the device has not seen are no longer stored (``reason``: ``pruned``, or ``missing``): it reloads its
    state from the API and goes on from ``user_seq``, the stream's position; nothing at or below it is sent."""
    return encode_frame({"type": "resync", "reason": reason, "user_seq": user_seq})


PONG = encode_frame({"type": "pong"})

# An empty WebSocket ping control frame (opcode 9), unmasked: the hub's heartbeat writes these same two bytes to every quiet socket.
PING_MESSAGE = bytes((0x89, 0))
