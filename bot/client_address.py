"""Who is on the other end of an HTTP request, behind a reverse proxy or not.

Throttles, per-client limits and the ``Secure`` cookie flag all need the real client and scheme. A proxy
tells them in ``X-Forwarded-For`` / ``X-Forwarded-Proto``, but anyone can send those headers, so they are
believed only when the peer itself is one of the configured trusted proxies (``http.trusted_proxies``).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from aiohttp import web

Network = IPv4Network | IPv6Network


@lru_cache(maxsize=32)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ip_network(entry, strict=False) for entry in entries)


def _trusted(address: str | None, networks: tuple[Network, ...]) -> bool:
    if not address or not networks:
        return False
    try:
        parsed = ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def _peer(request: web.BaseRequest) -> str | None:
    return request.remote or None


def client_address(request: web.BaseRequest, trusted_proxies: Iterable[str]) -> str:
    """The client's IP: the peer, or — walking X-Forwarded-For from the right past trusted proxies — the
    first address a trusted proxy vouches for. Never raises; ``"unknown"`` when there is no peer."""
    networks = _networks(tuple(trusted_proxies))
    peer = _peer(request)
    if not _trusted(peer, networks):
        return peer or "unknown"
    hops = [hop.strip() for header in request.headers.getall("X-Forwarded-For", []) for hop in header.split(",")]
    candidate = peer or "unknown"
    for hop in reversed([hop for hop in hops if hop]):
        try:
            ip_address(hop.split("%", 1)[0])
        except ValueError:
            break  # garbage in the header: stop at the last address we could vouch for
        candidate = hop
        if not _trusted(hop, networks):
            break
    return candidate


def is_trusted_proxy(address: str, trusted_proxies: Iterable[str]) -> bool:
    """Whether ``address`` is one of the configured proxies: a request that comes from the proxy itself
    (a health check), not from a client it forwards."""
    return _trusted(address, _networks(tuple(trusted_proxies)))


def is_secure(request: web.BaseRequest, trusted_proxies: Iterable[str]) -> bool:
    """HTTPS as the client sees it: the connection's own TLS, or a trusted proxy's X-Forwarded-Proto."""
    if request.secure:  # aiohttp answers from the connection's own TLS, never from headers
        return True
    if not _trusted(_peer(request), _networks(tuple(trusted_proxies))):
        return False
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return proto == "https"
