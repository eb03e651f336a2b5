"""Where the records node is (multi-node, docs/scale.md "Records"): asked of Redis at most every
`LOOKUP_TTL_S`, and again at once after a request to it failed (it may have moved)."""

from __future__ import annotations

import logging
import time
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from .directory import DirectoryUnavailable, Node

log = logging.getLogger(__name__)

#: How long the records node's address is reused before the directory is asked again.
LOOKUP_TTL_S = 2.0


class FindsRecords(Protocol):
    """The room directory, or a worker's `RedisRecordsFinder`: anything that names the records node."""

    async def records_node(self) -> Node | None: ...


def http_base(node_url: str) -> str:
    """`ws://host:port/ws` (a node's relay URL in the directory) → `http://host:port`."""
    parts = urlsplit(node_url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, "", "", ""))


class RecordsLocator:
    """The records node's http(s) base URL, cached for `LOOKUP_TTL_S`."""

    def __init__(self, finder: FindsRecords) -> None:
        self._finder = finder
        self._node: Node | None = None
        self._until = 0.0

    async def base(self) -> str | None:
        """The base URL, or None when no live node keeps the records (or the directory cannot say)."""
        now = time.monotonic()
        if self._node is None or now >= self._until:
            try:
                self._node = await self._finder.records_node()
            except DirectoryUnavailable as exc:
                log.warning("room directory unavailable while looking for the records node: %s", exc)
                self._node = None
            self._until = now + LOOKUP_TTL_S
        return None if self._node is None else http_base(self._node.url)

    def forget(self) -> None:
        """The node could not be reached: ask the directory again next time."""
        self._node = None
