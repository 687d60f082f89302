"""The frames of the device WebSocket, and how they are encoded.

A frame is one JSON object in one WebSocket text message. Frames that go to
many sockets are encoded once: ``encode_frame`` returns UTF-8 bytes that every
``Connection.send`` writes as they are (a text message, never re-encoded).
"""
from __future__ import annotations

import json
from typing import Any

# Close codes the server uses (4000-4999 are for applications, RFC 6455 §7.4.2).
CLOSE_PROTOCOL = 4000  # the first frame was not a valid hello, or none came in time
CLOSE_UNAUTHENTICATED = 4001  # unknown, expired or revoked session: sign in again
CLOSE_SLOW_READER = 4008  # the send queue filled up: reconnect and resume from user_seq
CLOSE_GOING_AWAY = 1001  # this node is shutting down: reconnect (to any node)
CLOSE_INTERNAL = 1011  # the node could not read the event stream: reconnect and resume

Frame = str | bytes


def encode_frame(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def event_frame(seq: int, event_type: str, data_json: str, at: str) -> str:
    """``{"type":"event","seq",...}`` with ``data`` already encoded, so a broadcast encodes it once."""
    return '{"type":"event","seq":%d,"event":%s,"data":%s,"at":%s}' % (seq, json.dumps(event_type), data_json, json.dumps(at))


def encode_data(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def error_frame(code: str, message: str, ref: Any = None) -> bytes:
    """An error about one client frame; the socket stays open. ``ref`` echoes the client's ``ref`` field."""
    frame: dict[str, Any] = {"type": "error", "error": {"code": code, "message": message}}
    if ref is not None:
        frame["ref"] = ref
    return encode_frame(frame)


PONG = encode_frame({"type": "pong"})
