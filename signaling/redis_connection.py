"""The one place a Redis URL becomes a connection (docs/scale.md, "Nodes"; `--redis`).

Two forms:

- `redis://[[user]:password@]host:port[/db]` (also `rediss://`, `unix://`): one server, as redis-py reads it.
- `redis+sentinel://[[user]:password@]host1:26379,host2:26379/<master-name>[/<db>][?sentinel_password=…]`:
  a primary and its replicas watched by Redis Sentinel. The sentinels are asked where the primary named
  `<master-name>` is; after a failover redis-py's own `SentinelConnectionPool` asks again and reconnects to
  the promoted replica, so no failover logic lives here. The password (and user) authenticate to the
  primary; `sentinel_password` to the sentinels (their `requirepass`), which are otherwise reached without
  one. A sentinel without a port is on 26379.

`parse_redis_url` checks a URL without connecting, so a malformed one stops the server at start-up with a
message that names the problem (and never echoes the password).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

if TYPE_CHECKING:
    import redis
    import redis.asyncio

SENTINEL_SCHEME = "redis+sentinel"
SENTINEL_PORT = 26379


@dataclass(frozen=True)
class SentinelTarget:
    """Where the sentinels are and which primary they watch."""

    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None

    def describe(self) -> str:
        hosts = ",".join(f"{host}:{port}" for host, port in self.sentinels)
        return f"primary {self.master!r} via sentinels {hosts}"


def parse_redis_url(url: str) -> SentinelTarget | None:
    """A sentinel URL's parts, or None for a plain one (checked as redis-py will read it). Raises
    ValueError saying what is wrong."""
    if not url.startswith(SENTINEL_SCHEME + "://"):
        from redis.connection import parse_url

        if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"a Redis URL starts redis://, rediss://, unix:// or {SENTINEL_SCHEME}://")
        parse_url(url)  # its ValueError says what else is wrong
        return None
    parts = urlsplit(url)
    if parts.fragment:
        raise ValueError(f"{SENTINEL_SCHEME}:// takes no fragment")
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(query) - {"sentinel_password"})
    if unknown or any(len(values) > 1 for values in query.values()):
        raise ValueError(f"{SENTINEL_SCHEME}://: the only query parameter is sentinel_password, once "
                         f"(got {', '.join(unknown) or 'it twice'})")
    sentinel_password = query["sentinel_password"][0] if query else None
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username = password = None
    if userinfo:
        user, colon, secret = userinfo.partition(":")
        if not colon:
            raise ValueError(f"{SENTINEL_SCHEME}://: write the password as ':password@' (or 'user:password@')")
        username, password = unquote(user) or None, unquote(secret)
    sentinels = tuple(_host_port(item) for item in hosts.split(","))
    segments = parts.path.split("/")[1:]
    if not segments or not segments[0] or len(segments) > 2:
        raise ValueError(f"{SENTINEL_SCHEME}://host:port,…/<master-name>[/<db>]: the path must name the primary "
                         "the sentinels monitor, optionally followed by a database number")
    db = 0
    if len(segments) == 2:
        if not segments[1].isdigit():
            raise ValueError(f"{SENTINEL_SCHEME}://: the database must be a number, got {segments[1]!r}")
        db = int(segments[1])
    return SentinelTarget(sentinels, unquote(segments[0]), db, username, password, sentinel_password)


def _host_port(item: str) -> tuple[str, int]:
    if not item:
        raise ValueError(f"{SENTINEL_SCHEME}:// needs sentinels as host:port, comma-separated")
    if item.startswith("["):  # [IPv6]:port
        host, _, rest = item[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
        if rest and not rest.startswith(":"):
            raise ValueError(f"{SENTINEL_SCHEME}://: cannot read sentinel address {item!r}")
    else:
        host, _, port_text = item.partition(":")
    if not host:
        raise ValueError(f"{SENTINEL_SCHEME}://: sentinel address {item!r} has no host")
    if not port_text:
        return host, SENTINEL_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{SENTINEL_SCHEME}://: sentinel {host} has no valid port ({port_text!r})")
    return host, int(port_text)


def describe_redis_url(url: str) -> str:
    """The URL for a log or error message, without its password."""
    target = parse_redis_url(url)
    if target is not None:
        return target.describe()
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(parts.netloc, parts.netloc.replace(f":{parts.password}@", ":***@"), 1)


def _master_options(target: SentinelTarget, options: dict[str, Any]) -> dict[str, Any]:
    return {"db": target.db, "username": target.username, "password": target.password, **options}


def _sentinel_options(target: SentinelTarget, options: dict[str, Any]) -> dict[str, Any]:
    return {"password": target.sentinel_password, **{k: v for k, v in options.items() if k.startswith("socket_")}}


def connect(url: str, **options: Any) -> redis.asyncio.Redis:
    """An asyncio client for the URL (`options` as `redis.asyncio.Redis` takes them); close it with
    `close`, which also closes the connections to the sentinels."""
    import redis.asyncio as aioredis
    from redis.asyncio.sentinel import Sentinel

    target = parse_redis_url(url)
    if target is None:
        return aioredis.Redis.from_url(url, **options)
    sentinel = Sentinel(list(target.sentinels), sentinel_kwargs=_sentinel_options(target, options))
    return sentinel.master_for(target.master, **_master_options(target, options))


def primary_address(client: redis.asyncio.Redis) -> tuple[str, int] | None:
    """The primary a Sentinel client last connected to (it changes after a failover); None for one server."""
    return getattr(client.connection_pool, "master_address", None)


async def close(client: redis.asyncio.Redis) -> None:
    """Close a client from `connect`, and its sentinels' connections if it has them."""
    await client.aclose()
    manager = getattr(client.connection_pool, "sentinel_manager", None)
    if manager is not None:
        await manager.aclose()


def connect_blocking(url: str, **options: Any) -> redis.Redis:
    """A blocking client for the URL (used at start-up, before the event loop runs); close it with
    `close_blocking`."""
    import redis as syncredis
    from redis.sentinel import Sentinel

    target = parse_redis_url(url)
    if target is None:
        return syncredis.Redis.from_url(url, **options)
    sentinel = Sentinel(list(target.sentinels), sentinel_kwargs=_sentinel_options(target, options))
    return sentinel.master_for(target.master, **_master_options(target, options))


def close_blocking(client: redis.Redis) -> None:
    """Close a client from `connect_blocking`, and its sentinels' connections if it has them."""
    client.close()
    manager = getattr(client.connection_pool, "sentinel_manager", None)
    for sentinel in getattr(manager, "sentinels", ()):
        sentinel.close()
