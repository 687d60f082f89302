"""Where Web Push may connect: https to public addresses only, checked when a browser subscribes and at every connection.

A subscription's endpoint is a URL the subscriber chose. Fetched wherever it
pointed, it would make the server POST into its own network (a cloud metadata
service, an admin port) and show the answer's status in the delivery's error.
So:

* subscribing refuses (400 ``push_endpoint_not_public``) an endpoint that is
  not ``https://`` or whose host is not, or does not resolve only to, public
  addresses (``is_public``); one message for every refusal, so the answer
  tells nothing of the server's own network;
* sending connects through ``push_session()``, whose every socket is checked
  against the address it is about to connect to: after DNS, for IP literals
  and for redirects alike, so a name that resolves elsewhere later (DNS
  rebinding) still cannot reach inside, and nothing is sent there to answer.

``MUSTER_NOTIFY_PUSH_ALLOW_PRIVATE`` turns both off, for tests and labs whose
push service runs on a private address over http.
"""
from __future__ import annotations

import asyncio
import socket
from ipaddress import IPv4Address, ip_address, ip_network

import aiohttp
from yarl import URL

from server.errors import InvalidInput
from server.i18n import _

NOT_PUBLIC = _("the Web Push endpoint must be an https:// URL at a public address")
NAT64 = ip_network("64:ff9b::/96")
RESOLVE_TIMEOUT_S = 5.0


def is_public(address: str) -> bool:
    """A global unicast address: not private, loopback, link-local, CGNAT, multicast, reserved or 0.0.0.0/8, nor one of those inside IPv6."""
    ip = ip_address(address)
    if ip.version == 6:
        embedded = ip.ipv4_mapped or ip.sixtofour or (IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64 else None)
        if embedded is not None:
            return is_public(str(embedded))
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


async def check_push_endpoint(endpoint: str, *, allow_private: bool) -> None:
    """Refuse an endpoint that is not https, or whose host is or resolves to anything but public addresses."""
    if allow_private:
        return
    try:
        url = URL(endpoint)
        found = []
        if url.scheme == "https" and url.host:
            async with asyncio.timeout(RESOLVE_TIMEOUT_S):
                found = await asyncio.get_running_loop().getaddrinfo(url.host, url.port, type=socket.SOCK_STREAM)
    except (ValueError, OSError):  # not a URL, a name that does not resolve, or too slowly (TimeoutError is an OSError)
        found = []
    if not found or not all(is_public(info[4][0]) for info in found):
        raise InvalidInput(NOT_PUBLIC, field="endpoint", code="push_endpoint_not_public")


class NotPublicAddress(OSError):
    """Web Push was about to connect to an address that is not public; nothing was sent."""


def _public_socket(addr_info) -> socket.socket:
    family, type_, proto, _, sockaddr = addr_info
    if not is_public(sockaddr[0]):
        raise NotPublicAddress(NOT_PUBLIC)  # the same text for every address: one refusal, not one per address
    return socket.socket(family, type_, proto)


def push_session(*, allow_private: bool) -> aiohttp.ClientSession:
    """The HTTP session Web Push sends with: it opens sockets to public addresses only (unless allowed)."""
    if allow_private:
        return aiohttp.ClientSession()
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(socket_factory=_public_socket))


def refused_as_not_public(error: BaseException) -> bool:
    """True if a failed push never left because its address is not public."""
    return isinstance(getattr(error, "os_error", None), NotPublicAddress)
