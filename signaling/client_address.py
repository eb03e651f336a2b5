"""Who the client is: the peer address, or — when the peer is a trusted reverse proxy — the address that
proxy names in `Forwarded` (RFC 7239) or `X-Forwarded-For`. Every per-address limit reads it from here.

Only proxies listed in `trusted_proxies` are believed: from anyone else those headers are the client's own
words, and a client that could choose its address could escape every limit.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from aiohttp import web

from . import keys

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDRs ("127.0.0.1, 10.0.0.0/8"); ValueError names a bad entry."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
    return tuple(networks)


def _address(text: str | None) -> Address | None:
    """An address from a header's node value: "192.0.2.1", "192.0.2.1:4711", "[2001:db8::1]:80"."""
    if not text:
        return None
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


def _hops(request: web.BaseRequest) -> list[str]:
    """The addresses the proxies recorded, client first: from Forwarded if present, else X-Forwarded-For."""
    if request.headers.get("Forwarded"):
        return [entry.get("for", "") for entry in request.forwarded]
    return [part for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]


def resolve_client(peer: str | None, hops: list[str], networks: tuple[Network, ...]) -> str:
    """Walk the hops from the nearest: every trusted proxy passes the question on; the first address that is
    not a trusted proxy is the client. A hop that is not an address stops the walk at the proxy that wrote it."""
    current = _address(peer)
    if current is None:
        return peer or "?"
    for hop in reversed(hops):
        if not _trusted(current, networks):
            break
        named = _address(hop)
        if named is None:
            break
        current = named
    return str(current)


def client_address(request: web.BaseRequest) -> str:
    """The client's address as every limit and audit line should see it."""
    networks = parse_networks(request.config_dict[keys.CONFIG].trusted_proxies)
    peer = request.remote
    if not networks:
        return peer or "?"
    return resolve_client(peer, _hops(request), networks)
