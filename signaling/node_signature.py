"""Requests one node makes of another, signed with the deployment's shared secret.

A rooms-only node keeps a consultation's chat with its record by asking the records node
(`room_history_service.py`). Those endpoints take the sender's word for who said what, so only a fellow
node may call them: each request carries `X-Vaidya-Node-Signature: <unix time>;<HMAC-SHA256>` over its
method, path and query, time and body. A signature older or newer than `MAX_AGE_S` is refused, so a
request seen on the wire cannot be replayed for long.
"""

from __future__ import annotations

import hashlib
import hmac
import time

NODE_SIGNATURE = "X-Vaidya-Node-Signature"
MAX_AGE_S = 30


def _digest(secret: str, method: str, path_qs: str, stamp: str, body: bytes) -> str:
    message = f"node-request|{method.upper()}|{path_qs}|{stamp}|{hashlib.sha256(body).hexdigest()}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def sign(secret: str, method: str, path_qs: str, body: bytes = b"", now: float | None = None) -> str:
    """The header value for a request to a fellow node."""
    stamp = str(int(time.time() if now is None else now))
    return f"{stamp};{_digest(secret, method, path_qs, stamp, body)}"


def signed_by_a_node(value: str | None, secret: str, method: str, path_qs: str, body: bytes = b"",
                     now: float | None = None) -> bool:
    """Whether this request came, unaltered and lately, from a node that holds the shared secret."""
    if not value or not secret:
        return False
    stamp, _, signature = value.partition(";")
    if not stamp.isdigit() or abs((time.time() if now is None else now) - int(stamp)) > MAX_AGE_S:
        return False
    return hmac.compare_digest(signature, _digest(secret, method, path_qs, stamp, body))
