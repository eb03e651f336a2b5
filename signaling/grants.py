"""Room access tokens (JWT, HS256): minted by the portal or the CLI, verified by signaling.

Pure: no aiohttp, no media. This is the one signaling module the portal may import.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

import jwt

ALGORITHM = "HS256"
ISSUER = "vaidya"
AUDIENCE = "vaidya-room"
MAX_TTL_S = 24 * 3600


class Role(StrEnum):
    PATIENT = "patient"
    DOCTOR = "doctor"
    HEALTH_WORKER = "health_worker"
    OBSERVER = "observer"


DEFAULT_GRANTS: dict[Role, tuple[bool, bool]] = {
    Role.PATIENT: (True, True),
    Role.DOCTOR: (True, True),
    Role.HEALTH_WORKER: (True, True),
    Role.OBSERVER: (False, True),
}


class TokenError(Exception):
    """A token was refused. `code` is one of the protocol's error codes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Grant:
    """What a verified token allows: who, in which room, in what role, publishing and/or subscribing."""

    identity: str
    room: str
    role: Role
    publish: bool
    subscribe: bool
    expires_at: int


def mint_token(
    secret: str,
    *,
    room: str,
    identity: str,
    role: Role | str,
    ttl_s: int = 600,
    publish: bool | None = None,
    subscribe: bool | None = None,
    now: float | None = None,
) -> str:
    """A signed token for one identity in one room; grants default from the role."""
    role = Role(role)
    if not room or not identity:
        raise ValueError("room and identity are required")
    if not (0 < ttl_s <= MAX_TTL_S):
        raise ValueError(f"ttl must be 1..{MAX_TTL_S} seconds")
    default_pub, default_sub = DEFAULT_GRANTS[role]
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": identity,
        "room": room,
        "role": role.value,
        "grants": {
            "publish": default_pub if publish is None else publish,
            "subscribe": default_sub if subscribe is None else subscribe,
        },
        "iat": issued,
        "exp": issued + ttl_s,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str | None, room: str) -> Grant:
    """Check signature, expiry and room; raise TokenError with a protocol error code otherwise."""
    if not token:
        raise TokenError("token_missing", "an access token is required")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "sub", "aud", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("token_expired", "the access token has expired") from None
    except jwt.PyJWTError:
        raise TokenError("token_invalid", "the access token is not valid") from None
    if claims.get("room") != room:
        raise TokenError("token_wrong_room", "the access token is for another room")
    try:
        role = Role(claims.get("role"))
        grants = claims.get("grants") or {}
        return Grant(
            identity=str(claims["sub"]),
            room=room,
            role=role,
            publish=bool(grants.get("publish", False)),
            subscribe=bool(grants.get("subscribe", False)),
            expires_at=int(claims["exp"]),
        )
    except (ValueError, KeyError, TypeError):
        raise TokenError("token_invalid", "the access token is not valid") from None
