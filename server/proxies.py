"""Behind nginx: believe X-Forwarded-For and X-Forwarded-Proto, but only from the proxies we run.

Without this every request behind nginx comes from 127.0.0.1, so login rate
limits by address would count everyone together and /metrics, which is
loopback-only without a token, would be open to anyone nginx forwards. With
it, a client can still write any X-Forwarded-For it likes, so the header is
read from the right: addresses appended by trusted proxies are skipped, and
the first one a trusted proxy did not add is the client.
"""
from __future__ import annotations

import ipaddress

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> tuple[Network, ...]:
    """``"127.0.0.1, 10.0.0.0/8"`` → networks; raises ValueError naming a bad entry."""
    networks = []
    for item in (part.strip() for part in spec.split(",")):
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"MUSTER_TRUSTED_PROXIES: {item!r} is not an address or network") from None
    return tuple(networks)


def client_address(peer: str | None, forwarded_for: str, trusted: tuple[Network, ...]) -> str | None:
    """The client's address, or None to keep the peer's (untrusted peer, or a header we cannot read)."""
    if peer is None or not _is_trusted(peer, trusted):
        return None
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    client = None
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return None
        client = hop
        if not _is_trusted(hop, trusted):
            break
    return client


def forwarded_middleware(trusted_proxies: str):
    trusted = parse_networks(trusted_proxies)

    @web.middleware
    async def believe_trusted_proxies(request: web.Request, handler):
        client = client_address(request.remote, request.headers.get("X-Forwarded-For", ""), trusted)
        if client is None:
            return await handler(request)
        changes: dict = {"remote": client}
        proto = request.headers.get("X-Forwarded-Proto", "")
        if proto in ("http", "https"):
            changes["scheme"] = proto
        return await handler(request.clone(**changes))

    return believe_trusted_proxies


def _is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)
