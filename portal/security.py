"""Passwords, keyed hashes for short secrets, CSRF tokens and rate limits. No aiohttp here.

Passwords use argon2id. OTP codes, session ids and SMS login secrets are short-lived random values: they are
stored as HMAC-SHA256 under the server secret, so a stolen database file cannot be replayed, and compared in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
#: Verified against when a login names no user, so the reply takes as long as a real check.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True if `password` matches; with no stored hash, spend the same time and say no."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def keyed_hash(secret: str, *parts: str) -> str:
    """HMAC-SHA256 of the parts (joined unambiguously) under the server secret, hex."""
    message = "\x1f".join(parts).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_otp() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def csrf_token(secret: str, browser_id: str) -> str:
    """The form token bound to this browser's id cookie: a page of another site cannot know it."""
    return keyed_hash(secret, "csrf", browser_id)[:40]


def check_csrf(secret: str, browser_id: str | None, presented: str | None) -> bool:
    if not browser_id or not presented:
        return False
    return same(csrf_token(secret, browser_id), presented)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by (what, who): `burst` requests at once, refilled at `per_s`."""

    def __init__(self, burst: int, per_s: float, max_keys: int = 100_000) -> None:
        self.burst = burst
        self.per_s = per_s
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.per_s)
        bucket.updated = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def _forget_full(self, now: float) -> None:
        refill = self.burst / self.per_s
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < refill}
