"""Room access tokens (JWT, HS256): minted by the portal or the CLI, verified by signaling.

Pure: no aiohttp, no media. This is the one signaling module the portal may import.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt

from .protocol import BIDI_CONTROLS

ALGORITHM = "HS256"
ISSUER = "vaidya"
AUDIENCE = "vaidya-room"
MAX_TTL_S = 24 * 3600
#: A token whose expiry lies further ahead than this is refused, whoever signed it: the longest token
#: minted here (MAX_TTL_S) plus a margin for clocks that disagree.
MAX_EXPIRY_AHEAD_S = MAX_TTL_S + 5 * 60
MAX_IDENTITY = 128


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
    #: What the others in the room see: "Dr. Asha Rao", "Gita Devi" (the identity is an id, not a name).
    name: str | None = None


#: Longest display name a token carries.
MAX_NAME = 80


def _name_problem(name: Any) -> str | None:
    """Why `name` cannot be shown to the others (a person's name, as the portal checked it), or None."""
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME or not name.strip():
        return f"name must be a string of 1–{MAX_NAME} characters"
    if any(unicodedata.category(c) in ("Cc", "Cs") or c in BIDI_CONTROLS for c in name):
        return "name has control characters"
    return None


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
    name: str | None = None,
) -> str:
    """A signed token for one identity in one room; grants default from the role. `name` is what the
    others in the room see."""
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
    if name is not None:
        problem = _name_problem(name)
        if problem:
            raise ValueError(problem)
        claims["name"] = name
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
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError, RecursionError):
        # PyJWT parses the header (and so any JSON an attacker nests in it) before checking the signature
        raise TokenError("token_invalid", "the access token is not valid") from None
    if claims.get("room") != room:
        raise TokenError("token_wrong_room", "the access token is for another room")
    return _grant(claims, room, time.time())


def _grant(claims: dict[str, Any], room: str, now: float) -> Grant:
    """The claims of a correctly signed token, each of its documented type, or TokenError naming the claim."""

    def refuse(why: str) -> TokenError:
        return TokenError("token_invalid", f"the access token is not valid: {why}")

    identity, exp, iat = claims.get("sub"), claims.get("exp"), claims.get("iat")
    if not isinstance(identity, str) or not 0 < len(identity) <= MAX_IDENTITY:
        raise refuse(f"sub must be a string of 1–{MAX_IDENTITY} characters")
    try:
        role = Role(claims.get("role"))
    except (ValueError, TypeError):
        raise refuse(f"role must be one of {', '.join(r.value for r in Role)}") from None
    if not _is_int(exp) or exp - now > MAX_EXPIRY_AHEAD_S:
        raise refuse(f"exp must be an integer time at most {MAX_EXPIRY_AHEAD_S} s ahead")
    if iat is not None and (not _is_int(iat) or exp - iat > MAX_EXPIRY_AHEAD_S):
        raise refuse(f"iat must be an integer time at most {MAX_EXPIRY_AHEAD_S} s before exp")
    grants = claims.get("grants", {})
    if not isinstance(grants, dict):
        raise refuse("grants must be an object")
    publish, subscribe = grants.get("publish", False), grants.get("subscribe", False)
    if not isinstance(publish, bool) or not isinstance(subscribe, bool):
        raise refuse("grants.publish and grants.subscribe must be true or false")
    name = claims.get("name")
    if name is not None and _name_problem(name):
        raise refuse(_name_problem(name) or "")
    return Grant(identity=identity, room=room, role=role, publish=publish, subscribe=subscribe,
                 expires_at=int(exp), name=name)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
