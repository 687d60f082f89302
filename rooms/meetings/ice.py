"""ICE servers for clients, with time-limited TURN credentials (coturn's REST API scheme).

coturn with ``use-auth-secret`` accepts a username ``"<expiry unix time>:<user id>"``
whose password is ``base64(HMAC-SHA1(static-auth-secret, username))``: the
server never stores TURN passwords, and a leaked credential dies at its expiry.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import time

from rooms.config import RoomsSettings


def turn_credential(secret: str, user_id: int, ttl_s: int, now: float | None = None) -> tuple[str, str]:
    expiry = int((time.time() if now is None else now) + ttl_s)
    username = f"{expiry}:{user_id}"
    password = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    return username, password


def ice_servers(settings: RoomsSettings, user_id: int) -> list[dict]:
    """The ``iceServers`` of an ``RTCConfiguration`` for this user."""
    servers: list[dict] = []
    if settings.stun_urls:
        servers.append({"urls": list(settings.stun_urls)})
    if settings.turn_urls and settings.turn_secret:
        username, credential = turn_credential(settings.turn_secret, user_id, settings.turn_ttl_s)
        servers.append({"urls": list(settings.turn_urls), "username": username, "credential": credential})
    return servers
