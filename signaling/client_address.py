"""Who the client is: the peer address, or — when the peer is a trusted reverse proxy — the address that
proxy names in `Forwarded` (RFC 7239) or `X-Forwarded-For`. Every per-address limit reads it from here.

Only proxies listed in `trusted_proxies` are believed: from anyone else those headers are the client's own
words, and a client that could choose its address could escape every limit. A fellow node that relays a
portal request to the records node (`records_relay.py`) names the client in `X-Vaidya-Relayed-For`, signed
with the deployment's shared secret, so nodes need no entry in `trusted_proxies`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
from functools import lru_cache

from aiohttp import web

from . import keys

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

RELAYED_FOR = "X-Vaidya-Relayed-For"
#: A relayed name older (or newer) than this is not believed: a header seen once cannot be replayed for long.
RELAYED_MAX_AGE_S = 30


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


def _signature(secret: str, client: str, stamp: str) -> str:
    return hmac.new(secret.encode(), f"relayed-for|{client}|{stamp}".encode(), hashlib.sha256).hexdigest()


def relayed_for(secret: str, client: str, now: float | None = None) -> str:
    """The `X-Vaidya-Relayed-For` value a relaying node sends: the client, a time stamp, their signature."""
    stamp = str(int(time.time() if now is None else now))
    return f"{client};{stamp};{_signature(secret, client, stamp)}"


def relayed_client(value: str, secret: str, now: float | None = None) -> str | None:
    """The client a fellow node named, when the signature holds and is fresh; None for anything else."""
    parts = value.split(";")
    if len(parts) != 3 or not secret:
        return None
    client, stamp, signature = parts
    if not stamp.isdigit() or abs((time.time() if now is None else now) - int(stamp)) > RELAYED_MAX_AGE_S:
        return None
    if not hmac.compare_digest(signature, _signature(secret, client, stamp)) or _address(client) is None:
        return None
    return client


def client_address(request: web.BaseRequest) -> str:
    """The client's address as every limit and audit line should see it."""
    relayed = request.headers.get(RELAYED_FOR)
    if relayed is not None:
        named = relayed_client(relayed, request.config_dict[keys.CONFIG].secret)
        if named is not None:
            return named
    networks = parse_networks(request.config_dict[keys.CONFIG].trusted_proxies)
    peer = request.remote
    if not networks:
        return peer or "?"
    return resolve_client(peer, _hops(request), networks)
