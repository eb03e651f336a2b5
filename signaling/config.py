"""Server configuration: defaults, then an optional TOML file (unknown keys rejected), then environment, then flags."""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from portal.datafiles import write_private

SECRET_FILE = "secret.key"


class ConfigError(ValueError):
    """A configuration value is missing or invalid."""


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = field(default_factory=lambda: Path("var"))
    #: HS256 key for access tokens; from VAIDYA_SECRET or generated once into the data dir.
    secret: str = ""
    #: Development conveniences (dev SMS inbox page). Never in production.
    dev: bool = False
    #: Seed a demo doctor, OPD and health worker at start-up (the `make serve` default).
    seed_demo: bool = False
    #: Public base URL used in links sent by SMS and printed on prescriptions.
    public_url: str = ""
    #: Largest inbound WebSocket message, bytes.
    ws_max_message: int = 64 * 1024
    #: Inbound WebSocket messages allowed per connection: a burst, refilled at `ws_rate_per_s`.
    ws_rate_burst: int = 40
    ws_rate_per_s: float = 20.0
    #: Seconds in which nothing (no WebSocket frame, no media packet) arrives from a client before it is removed.
    peer_timeout_s: float = 3.5
    #: Default access-token lifetime, seconds.
    token_ttl_s: int = 600
    #: Addresses the SFU offers as ICE host candidates, comma-separated (a public deployment lists its
    #: public interface). Loopback by default, so a fresh `make serve` talks to this machine only.
    media_addresses: str = "127.0.0.1"
    log_level: str = "INFO"
    #: Adapt what each subscriber receives to its link (docs/adaptive.md): transcoded tiers, audio-only
    #: floor, retransmissions inside a budget. Off: every subscriber gets the original streams.
    adaptive: bool = True
    #: With adaptation: protect a weak subscriber's video with RED + ULPFEC where its round trip is long
    #: and its loss persistent (docs/adaptive.md). Off: NACK/RTX only (`VAIDYA_FEC=0`).
    fec: bool = True
    #: Overrides of the quality ladder's tiers, e.g. `[ladder.T2] kbps = 120` (docs/adaptive.md); as JSON
    #: in VAIDYA_LADDER.
    ladder: dict[str, Any] = field(default_factory=dict)
    #: Worker processes that own the rooms (docs/scale.md): 0 runs rooms in this process (the embedded
    #: mode); N starts N workers, and this process serves HTTP and relays signaling to them.
    workers: int = 0
    #: The clinic's time zone (IANA name): every date a person reads (prescriptions, pages, SMS) is in it;
    #: stored instants stay UTC.
    timezone: str = "Asia/Kolkata"
    #: A waiting patient gets one "your turn is near" SMS on reaching this place in the queue (0: never).
    near_turn_sms_position: int = 3
    #: Multi-node (docs/scale.md): the Redis that holds the node registry and the room → node map, as
    #: `redis://host:port/db` or, under Sentinel,
    #: `redis+sentinel://[:password@]h1:26379,h2:26379/<master>[/<db>][?sentinel_password=…]` (docs/scale.md).
    redis_url: str = ""
    #: This node's name in that registry (default host:port) and the WebSocket URL other nodes relay a
    #: client's signaling to (default ws://host:port/ws).
    node_id: str = ""
    node_url: str = ""
    #: This node keeps the portal's and Rx's records (the SQLite file in data_dir) and serves their pages.
    #: With redis_url, only one live node may: the others set `records = false` and serve rooms only.
    records: bool = True
    #: TURN relays offered to browsers whose network blocks UDP (docs/deploy.md), comma-separated
    #: `turn:`/`turns:` URLs; empty: none (clients on such networks cannot reach the media).
    turn_urls: str = ""
    #: The secret shared with coturn (`static-auth-secret`); from VAIDYA_TURN_SECRET, never the repository.
    turn_secret: str = ""
    #: Lifetime of the TURN credential a join hands out, seconds: a consultation's length with margin;
    #: a client that reconnects gets a fresh one.
    turn_ttl_s: int = 7200
    #: HTTPS: PEM certificate chain and private key (getUserMedia needs a secure page off localhost).
    #: Behind a TLS-terminating reverse proxy leave both empty (docs/deploy.md).
    tls_cert: str = ""
    tls_key: str = ""
    #: With no SMS gateway (VAIDYA_SMS_URL_TEMPLATE), write each SMS, one-time codes included, to the log.
    #: A production start (neither `dev` nor this) without a gateway refuses to start (docs/security.md).
    sms_log_otps: bool = False
    #: Reverse proxies whose X-Forwarded-For / Forwarded headers name the client, as addresses or CIDRs,
    #: comma-separated (e.g. "127.0.0.1, 10.0.0.0/8"). Empty: the peer address is the client.
    trusted_proxies: str = ""
    #: Origins besides this server's own (and `public_url`'s) whose pages may open its WebSockets,
    #: comma-separated, e.g. "https://opd.example.org".
    ws_allowed_origins: str = ""
    #: Seconds an HTTP connection may sit idle, and the deadline for a request's header to arrive in full
    #: (aiohttp's keep-alive timer, armed when the connection opens and after each reply).
    http_idle_timeout_s: float = 30.0

    def validate(self) -> None:
        if not (0 <= self.port <= 65535):
            raise ConfigError(f"port must be 0..65535, got {self.port}")
        if not (0 <= self.workers <= 256):
            raise ConfigError(f"workers must be 0..256, got {self.workers}")
        if self.redis_url and self.workers < 1:
            raise ConfigError("redis_url (multi-node) needs worker processes: workers must be at least 1")
        if self.redis_url:
            from .redis_connection import parse_redis_url

            try:
                parse_redis_url(self.redis_url)
            except ValueError as exc:
                raise ConfigError(f"redis_url: {exc}") from None
        if self.ws_max_message < 1024:
            raise ConfigError("ws_max_message must be at least 1024 bytes")
        if self.ws_rate_burst < 1 or self.ws_rate_per_s <= 0:
            raise ConfigError("ws_rate_burst and ws_rate_per_s must be positive")
        if not (0 <= self.near_turn_sms_position <= 100):
            raise ConfigError(f"near_turn_sms_position must be 0..100, got {self.near_turn_sms_position}")
        if not (1.0 <= self.http_idle_timeout_s <= 3600.0):
            raise ConfigError(f"http_idle_timeout_s must be 1..3600 seconds, got {self.http_idle_timeout_s}")
        from .client_address import parse_networks
        from .origin import parse_origins

        try:
            parse_networks(self.trusted_proxies)
        except ValueError as exc:
            raise ConfigError(f"trusted_proxies: {exc}") from None
        try:
            parse_origins(self.ws_allowed_origins)
        except ValueError as exc:
            raise ConfigError(f"ws_allowed_origins: {exc}") from None
        if self.secret and len(self.secret) < 32:
            raise ConfigError("the secret must be at least 32 characters")
        if self.turn_urls:
            from .turn import parse_turn_urls

            try:
                parse_turn_urls(self.turn_urls)
            except ValueError as exc:
                raise ConfigError(f"turn_urls: {exc}") from None
            if len(self.turn_secret) < 16:
                raise ConfigError("turn_urls needs turn_secret (VAIDYA_TURN_SECRET), at least 16 characters, "
                                  "the same as coturn's static-auth-secret")
        if not (60 <= self.turn_ttl_s <= 86400):
            raise ConfigError(f"turn_ttl_s must be 60..86400 seconds, got {self.turn_ttl_s}")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ConfigError("tls_cert and tls_key go together: give both or neither")
        for name in ("tls_cert", "tls_key"):
            if getattr(self, name) and not Path(getattr(self, name)).is_file():
                raise ConfigError(f"{name}: no such file {getattr(self, name)!r}")
        try:
            self.zone
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"timezone: unknown time zone {self.timezone!r} (an IANA name such as Asia/Kolkata)") from None
        from media.adaptive.ladder import ladder_from_config

        try:
            ladder_from_config(self.ladder)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"ladder: {exc}") from None

    @property
    def zone(self) -> ZoneInfo:
        """The clinic's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def node_name(self) -> str:
        """This node's id in the room directory: `node_id`, else host name and port."""
        import socket

        return self.node_id or f"{socket.gethostname()}:{self.port}"

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls_cert else "http"
        return self.public_url or f"{scheme}://{self.host}:{self.port}"

    def ice_servers(self, identity: str) -> list[dict[str, object]]:
        """What a joining browser adds to its RTCPeerConnection: a fresh TURN credential, or nothing."""
        if not self.turn_urls:
            return []
        from .turn import parse_turn_urls, turn_credential

        credential = turn_credential(self.turn_secret, parse_turn_urls(self.turn_urls), identity, self.turn_ttl_s)
        return [credential.as_ice_server()]


_FIELDS = {f.name: f for f in dataclasses.fields(Config)}


def _coerce(name: str, value: Any) -> Any:
    kind = _FIELDS[name].type
    if kind == "Path":
        return Path(value)
    if kind == "bool":
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind.startswith("dict"):
        value = json.loads(value) if isinstance(value, str) else value
        if not isinstance(value, dict):
            raise ValueError(f"{name} must be a table")
        return value
    return str(value)


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Build the configuration: defaults → TOML file → VAIDYA_* environment → explicit overrides → validate."""
    values: dict[str, Any] = {}
    if path is not None:
        with open(path, "rb") as f:
            data = tomllib.load(f)
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise ConfigError(f"unknown configuration keys in {path}: {', '.join(unknown)}")
        values.update(data)
    for name in _FIELDS:
        env = os.environ.get("VAIDYA_" + name.upper())
        if env is not None:
            values[name] = env
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
    try:
        config = Config(**{k: _coerce(k, v) for k, v in values.items()})
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from exc
    config.validate()
    return config


def ensure_secret(config: Config) -> str:
    """Return the token secret, generating one into the data dir (mode 0600) on first use."""
    if config.secret:
        return config.secret
    path = config.data_dir / SECRET_FILE
    if not path.exists():
        write_private(path, secrets.token_urlsafe(48).encode())
    config.secret = path.read_text().strip()
    return config.secret
