"""Short-lived TURN credentials for networks that block UDP (coturn's "TURN REST API" secret scheme).

A clinic's Wi-Fi or a hospital firewall often lets only TCP 443 out; the SFU speaks ICE over UDP only, so
such a browser reaches it through a TURN relay. We never hand out a long-lived TURN password: each join
gets a username `<expiry>:<identity>` and the password HMAC-SHA1(shared secret, username), base64, which
coturn (`use-auth-secret`, `static-auth-secret=<the same secret>`) checks without asking us. A leaked
credential relays for at most `ttl_s`; a client that rejoins gets a fresh one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

#: coturn rejects a REST username whose first field is not a UNIX time; the part after the colon is ours.
_SEPARATOR = ":"


@dataclass(frozen=True)
class TurnCredential:
    """One RTCIceServer entry, as the browser's RTCPeerConnection takes it."""

    urls: tuple[str, ...]
    username: str
    credential: str

    def as_ice_server(self) -> dict[str, object]:
        return {"urls": list(self.urls), "username": self.username, "credential": self.credential}


def parse_turn_urls(text: str) -> tuple[str, ...]:
    """`turn:`/`turns:` URLs from a comma-separated setting; anything else is a configuration mistake."""
    urls = tuple(u.strip() for u in text.split(",") if u.strip())
    for url in urls:
        if not url.startswith(("turn:", "turns:")):
            raise ValueError(f"not a TURN URL: {url!r} (expected turn:host:port or turns:host:port)")
    return urls


def turn_credential(
    secret: str, urls: tuple[str, ...], identity: str, ttl_s: int, now: float | None = None
) -> TurnCredential:
    """Mint the credential coturn's `use-auth-secret` accepts until `now + ttl_s`."""
    expiry = int((time.time() if now is None else now) + ttl_s)
    # The identity only labels coturn's logs; keep it to characters its username field takes as they are.
    label = "".join(c if c.isalnum() or c in "-_." else "_" for c in identity)[:64]
    username = f"{expiry}{_SEPARATOR}{label}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredential(urls=urls, username=username, credential=base64.b64encode(digest).decode())
